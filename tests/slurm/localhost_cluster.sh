#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, run the given command against it, stop the cluster.
#   tests/slurm/localhost_cluster.sh STATE_DIR COMMAND [ARGS...]
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge. The daemons are stopped by their
# PIDs on any exit, so a failing or interrupted command leaves nothing running. SLURM reads its
# config from /etc/slurm/slurm.conf only (a job step launched by Snakemake clears SLURM_CONF), so a
# config already there is moved aside and put back afterwards.
set -euo pipefail

state=$(realpath "$1")
shift
conf=/etc/slurm/slurm.conf
mkdir -p "$state"/{spool,state,log}
pids=()

stop() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ -e "$state/slurm.conf.saved" ]]; then mv "$state/slurm.conf.saved" "$conf"; else rm -f "$conf"; fi
    exit "$status"
}
trap stop EXIT INT TERM

if [[ -e "$conf" ]]; then mv "$conf" "$state/slurm.conf.saved"; fi
node=$(slurmd -C | head -n 1)
cat > "$conf" <<CONF
ClusterName=localhost
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

mkdir -p /run/munge && chown munge:munge /run/munge
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- munged --foreground >"$state/log/munged.out" 2>&1 &
    pids+=($!)
fi
slurmctld -D >"$state/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D >"$state/log/slurmd.out" 2>&1 &
pids+=($!)

for _ in $(seq 60); do
    if sinfo --noheader --states=idle --format=%N 2>/dev/null | grep -q .; then break; fi
    sleep 0.5
done
sinfo --noheader --states=idle --format=%N | grep -q . || {
    echo "SLURM node did not become idle; logs in $state/log" >&2
    exit 1
}
echo "SLURM cluster up: $(sinfo --noheader --format='%P %D %T %c cpus %m MB')" >&2
"$@"
