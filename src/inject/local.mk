# fault injection and campaigns (issue 9, docs/fault-injection.md)
libvtdsim_internal_la_SOURCES += src/inject/inject.c src/inject/campaign.c
noinst_HEADERS += src/inject/inject.h src/inject/inject_hook.h src/inject/campaign.h
vtdsim_SOURCES += src/cli/cmd_campaign.c

check_PROGRAMS += tests/check_inject
TESTS += tests/check_inject tests/campaign.sh tests/campaign-slurm.sh
tests_check_inject_SOURCES = tests/check_inject.c tests/check_util.h
tests_check_inject_CFLAGS = $(TEST_CFLAGS)
tests_check_inject_LDADD = $(TEST_LDADD)
EXTRA_DIST += tests/campaign.sh tests/campaign-slurm.sh docs/fault-injection.md docs/campaign.sbatch \
	traces/campaigns/basic.trace traces/campaigns/prq.trace traces/campaigns/inline-plan.trace traces/campaigns/ats.trace \
	traces/campaigns/basic.ini traces/campaigns/qi.trace traces/campaigns/qi.ini traces/campaigns/irq.trace traces/campaigns/tables.ini \
	traces/campaigns/aer.trace traces/campaigns/aer.platform traces/campaigns/aer.ini
