# src/explain: the page-walk explainer, Linux debugfs-format dumps, and the
# walk/dump subcommands (owner: explain).  See docs/explain.md and the
# tutorial in docs/tutorial/.
libvtdsim_internal_la_SOURCES += \
	src/explain/walk.c \
	src/explain/walk_format.c \
	src/explain/script.c \
	src/explain/dump.c
noinst_HEADERS += src/explain/walk.h src/explain/script.h src/explain/dump.h
vtdsim_SOURCES += src/cli/cmd_walk.c src/cli/cmd_dump.c

check_PROGRAMS += tests/check_explain
TESTS += tests/check_explain tests/explain-cli.sh
tests_check_explain_SOURCES = tests/check_explain.c tests/check_util.h
tests_check_explain_CFLAGS = $(TEST_CFLAGS)
tests_check_explain_LDADD = $(TEST_LDADD)

EXPLAIN_GOLDEN = \
	tests/golden/explain-legacy-read.txt tests/golden/explain-legacy-read.json \
	tests/golden/explain-legacy-write-fault.txt tests/golden/explain-legacy-write-fault.json \
	tests/golden/explain-scalable-fs.txt tests/golden/explain-scalable-fs.json \
	tests/golden/explain-stale-iotlb.txt \
	tests/golden/explain-nested.txt tests/golden/explain-nested.dot \
	tests/golden/dump-legacy-iommu_regset.txt \
	tests/golden/dump-legacy-dmar_translation_struct.txt \
	tests/golden/dump-legacy-domain_translation_struct.txt \
	tests/golden/dump-legacy-invalidation_queue.txt \
	tests/golden/dump-legacy-ir_translation_struct.txt \
	tests/golden/dump-scalable-dmar_translation_struct.txt \
	tests/golden/dump-scalable-domain_translation_struct.txt \
	tests/golden/dump-scalable-invalidation_queue.txt \
	tests/golden/dump-scalable-iommu_regset.txt \
	tests/golden/dump-scalable-ir_translation_struct.txt \
	tests/golden/explain-lesson01-read.txt \
	tests/golden/explain-lesson01-write-fault.txt \
	tests/golden/explain-lesson01-not-present.txt \
	tests/golden/dump-lesson01-dmar_translation_struct.txt \
	tests/golden/dump-lesson01-domain_translation_struct.txt \
	tests/golden/explain-lesson02-read.txt \
	tests/golden/explain-lesson02-pasid-fault.txt \
	tests/golden/dump-lesson02-dmar_translation_struct.txt \
	tests/golden/explain-lesson03-first-stage.txt \
	tests/golden/explain-lesson03-read-only.txt \
	tests/golden/explain-lesson03-supervisor.txt \
	tests/golden/explain-lesson03-nested.txt \
	tests/golden/explain-lesson03-nested.json \
	tests/golden/dump-lesson03-dmar_translation_struct.txt \
	tests/golden/dump-lesson03-pasid2-domain_translation_struct.txt \
	tests/golden/dump-lesson04-ir_translation_struct.txt \
	tests/golden/explain-lesson04-msi.txt \
	tests/golden/explain-lesson04-posted.txt \
	tests/golden/explain-lesson05-stale.txt \
	tests/golden/explain-lesson05-flushed.txt

# The guided course: each lesson a platform file, a setup script and the
# pictures (DOT committed; `make tutorial-svg` renders them with Graphviz).
TUTORIAL_PICTURES = 01-legacy/walk 02-scalable/walk 03-first-stage-and-nested/nested \
	05-stale-iotlb/stale
EXTRA_DIST += $(EXPLAIN_GOLDEN) tests/explain-cli.sh docs/explain.md \
	docs/tutorial/README.md \
	docs/tutorial/01-legacy/README.md docs/tutorial/01-legacy/machine.platform \
	docs/tutorial/01-legacy/setup.qtest docs/tutorial/01-legacy/walk.dot \
	docs/tutorial/02-scalable/README.md docs/tutorial/02-scalable/machine.platform \
	docs/tutorial/02-scalable/setup.qtest docs/tutorial/02-scalable/walk.dot \
	docs/tutorial/03-first-stage-and-nested/README.md \
	docs/tutorial/03-first-stage-and-nested/machine.platform \
	docs/tutorial/03-first-stage-and-nested/setup.qtest \
	docs/tutorial/03-first-stage-and-nested/nested.dot \
	docs/tutorial/04-interrupt-remapping/README.md \
	docs/tutorial/04-interrupt-remapping/machine.platform \
	docs/tutorial/04-interrupt-remapping/setup.qtest \
	docs/tutorial/05-stale-iotlb/README.md docs/tutorial/05-stale-iotlb/machine.platform \
	docs/tutorial/05-stale-iotlb/setup.qtest docs/tutorial/05-stale-iotlb/flush.qtest \
	docs/tutorial/05-stale-iotlb/stale.dot

tutorial-svg:
	@command -v dot > /dev/null || { echo "tutorial-svg: Graphviz 'dot' is not installed"; exit 1; }
	@for f in $(TUTORIAL_PICTURES); do \
		mkdir -p docs/tutorial/`dirname $$f` && \
		dot -Tsvg $(srcdir)/docs/tutorial/$$f.dot -o docs/tutorial/$$f.svg && \
		echo "  SVG      docs/tutorial/$$f.svg" || exit 1; \
	done
.PHONY: tutorial-svg
CLEANFILES += docs/tutorial/*/*.svg
