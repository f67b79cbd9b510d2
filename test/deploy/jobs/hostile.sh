#!/bin/bash
# A hostile job: tries to take the farm over from inside its container.
# Prints one `hostile: WHAT: denied` or `hostile: WHAT: LEAK ...` line per
# attempt; the deployment test asserts every one says denied, and that no
# token's text appears anywhere in this job's console.
# $1 (optional): the port the server listens on.
port=${1:-1234}
say() { echo "hostile: $1: $2"; }

# Credentials: files, the environment, other processes' environments and argv.
# (BUILDER_JOB, the job's own name, is the one variable a job is given.)
found=$(find / -xdev \( -name '*.token' -o -name 'worker.token' -o -path '*/credentials/*' \) 2>/dev/null | head -5)
if [ -z "$found" ]; then say "find a token file" denied; else say "find a token file" "LEAK $found"; fi
leaked=$(env | grep '^BUILDER_' | grep -v '^BUILDER_JOB=' | cut -d= -f1)
if [ -n "$leaked" ]; then say "BUILDER_ variables in the environment" "LEAK $leaked"; else say "BUILDER_ variables in the environment" denied; fi
leaked=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep '^BUILDER_' | grep -v '^BUILDER_JOB=' | cut -d= -f1 | sort -u)
if [ -n "$leaked" ]; then say "BUILDER_ variables in /proc/*/environ" "LEAK $leaked"; else say "BUILDER_ variables in /proc/*/environ" denied; fi
# For the test to search: everything a job can see of its processes.
echo "--- environ and cmdline of every visible process"
for p in /proc/[0-9]*; do
  printf '%s env: %s\n' "${p#/proc/}" "$(tr '\0' ' ' < "$p/environ" 2>/dev/null)"
  printf '%s cmd: %s\n' "${p#/proc/}" "$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)"
done
echo "--- end"

# The spool, the server's socket, the docker socket, the worker binary.
for path in /var/lib/builder /run/builder/builder.sock /var/run/docker.sock /run/docker.sock /usr/bin/builder-client /usr/local/bin/builder-worker; do
  if [ -e "$path" ]; then say "reach $path" LEAK; else say "reach $path" denied; fi
done

# The server's port on every address the job can name: loopback, its gateway
# (the host's docker0), the host's name. Speak the protocol as a client and as
# a worker, without a token (the job has none).
gateway=$(awk '$2 == "00000000" { g = $3; printf "%d.%d.%d.%d\n", "0x" substr(g, 7, 2), "0x" substr(g, 5, 2), "0x" substr(g, 3, 2), "0x" substr(g, 1, 2); exit }' /proc/net/route)
client_hello='{"type":"hello","role":"client","version":1}'
worker_hello='{"type":"hello","role":"worker","version":1,"worker":{"platform":"debian-12","hostname":"evil","os":"Linux","release":"6","arch":"x64","cpus":1,"memory":1,"version":"0.1.0"}}'
for addr in $(printf '%s\n' 127.0.0.1 "$gateway" 172.17.0.1 | awk 'NF && !seen[$0]++'); do
  for role in client worker; do
    if [ $role = client ]; then hello=$client_hello; else hello=$worker_hello; fi
    # why timeout: a dropped SYN would hang; 5 s is far above a loopback answer.
    # shellcheck disable=SC2016 # $1.. are the inner bash's arguments
    reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; printf "%s\n" "$3" >&3; head -c 300 <&3' _ "$addr" "$port" "$hello" 2>/dev/null)
    case $reply in
      *'"welcome"'*) say "connect to $addr:$port as $role" "LEAK $reply" ;;
      '') say "connect to $addr:$port as $role" "denied (no connection)" ;;
      *) say "connect to $addr:$port as $role" "denied ($(printf '%s' "$reply" | head -c 120))" ;;
    esac
  done
done
echo "hostile: done"
