#!/bin/sh
# The Slurm job-array script (docs/campaign.sbatch) on a real single-node
# Slurm cluster (issue 9): when Debian's slurm-wlm (slurmctld, slurmd,
# munged, sbatch) is installed and we are root, this starts a private
# cluster - its own munged socket and key, its own slurm.conf, state and
# ports in a temporary directory, nothing of the host's Slurm touched -
# submits the basic campaign's shards as one job array with `sbatch
# --wait`, merges, and checks the results are byte-identical to a local
# `vtdsim campaign run` of the same plan.  Then it stops the cluster.
# Skips (77) with a message when Slurm is not installed or not root.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
for p in slurmctld slurmd munged sbatch sinfo scancel; do
    if ! command -v "$p" > /dev/null 2>&1 && [ ! -x "/usr/sbin/$p" ]; then
        echo "SKIP: $p not installed (Debian package slurm-wlm)"
        exit 77
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: a private Slurm cluster needs root here (slurmd runs jobs as their user)"
    exit 77
fi
PATH="$PATH:/usr/sbin"
V=$(cd "$top_builddir" && pwd)/vtdsim
S=$(cd "$top_srcdir" && pwd)    # absolute: the jobs run in another directory
INI="$S/traces/campaigns/basic.ini"
T=$(mktemp -d /tmp/vtdsim-slurm-XXXXXX)
chmod 755 "$T"
H=$(hostname -s)
# ports from the pid, so parallel runs of the suite do not meet
P1=$((20000 + $$ % 20000)); P2=$((P1 + 1))
stop() {
    SLURM_CONF="$T/slurm.conf" scancel --quiet --user=root > /dev/null 2>&1
    for f in slurmd slurmctld munged; do
        [ -f "$T/$f.pid" ] && kill "$(cat "$T/$f.pid")" 2> /dev/null
    done
    sleep 1
    rm -rf "$T"
}
trap stop EXIT
fail() { echo "FAIL: $*"; for l in "$T"/*.log; do echo "== $l"; tail -5 "$l"; done; exit 1; }
# the machine cannot host a cluster at all (no daemons allowed, no loopback): say so and skip
noslurm() { echo "SKIP: cannot start a private Slurm cluster here: $*"; for l in "$T"/*.log; do echo "== $l"; tail -3 "$l"; done; exit 77; }

mkdir -p "$T/state" "$T/spool"
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 2> /dev/null
chmod 400 "$T/munge.key"
munged --force --socket="$T/munge.sock" --key-file="$T/munge.key" --pid-file="$T/munged.pid" \
    --log-file="$T/munged.log" --seed-file="$T/munged.seed" || noslurm "munged did not start"
cat > "$T/slurm.conf" <<EOF2
ClusterName=vtdsimtest
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldPort=$P1
SlurmdPort=$P2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$H NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF2
SLURM_CONF="$T/slurm.conf"; export SLURM_CONF
slurmctld -f "$T/slurm.conf" || noslurm "slurmctld did not start"
slurmd -f "$T/slurm.conf" || noslurm "slurmd did not start"
for i in $(seq 1 30); do
    sinfo -h -o %t 2> /dev/null | grep -q idle && break
    sleep 1
done
sinfo -h -o %t | grep -q idle || noslurm "the node did not come up: $(sinfo 2>&1)"
echo "PASS: a private single-node Slurm cluster is up ($H, ports $P1/$P2)"

# the same plan twice: one run by Slurm, one locally
"$V" campaign plan "$INI" -o "$T/slurm" > /dev/null || fail "plan"
"$V" campaign plan "$INI" -o "$T/local" > /dev/null || fail "plan"
n=$(ls "$T/slurm/shards" | wc -l)
cd "$T"
timeout 600 sbatch --wait --array=0-$((n - 1)) --export=ALL,CAMPAIGN="$T/slurm",VTDSIM="$V" \
    "$S/docs/campaign.sbatch" > "$T/sbatch.out" 2>&1 || fail "sbatch: $(cat "$T/sbatch.out")"
cd - > /dev/null
echo "PASS: the job array of $n tasks ran ($(cat "$T/sbatch.out"))"
[ "$(ls "$T/slurm/results" | grep -c '\.json$')" -eq "$n" ] || fail "results: $(ls "$T/slurm/results" | wc -l) of $n"
"$V" campaign run "$T/local" -j2 > /dev/null || fail "local run"
diff -r "$T/local/results" "$T/slurm/results" > /dev/null || fail "Slurm results differ from the local run"
echo "PASS: every result is byte-identical to the local run"
"$V" campaign merge "$T/slurm" > "$T/m1.txt" && "$V" campaign merge "$T/local" > "$T/m2.txt" || fail "merge"
tail -n +2 "$T/m1.txt" > "$T/m1b.txt"; tail -n +2 "$T/m2.txt" > "$T/m2b.txt"
diff -u "$T/m2b.txt" "$T/m1b.txt" || fail "merged reports differ"
echo "PASS: the merged reports are identical"
# resubmitting the finished array repeats nothing (each task exits at once)
before=$(stat -c %Y "$T/slurm/results/00000.json")
cd "$T" && timeout 300 sbatch --wait --array=0-$((n - 1)) --export=ALL,CAMPAIGN="$T/slurm",VTDSIM="$V" \
    "$S/docs/campaign.sbatch" > /dev/null 2>&1 || fail "resubmission"
cd - > /dev/null
[ "$(stat -c %Y "$T/slurm/results/00000.json")" = "$before" ] || fail "a finished shard was rerun"
echo "PASS: resubmitting the array reruns no finished shard"
exit 0
