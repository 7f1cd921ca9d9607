#!/usr/bin/env python3
"""Writes N deterministic rsyslog lines in RSYSLOG_TraditionalFileFormat
(`Feb 10 12:58:58 host tag[pid]: message`), the rsyslog decoder's default
template, for benches/grammar_bench.sh.

Usage: python3 benches/gen_syslog_log.py N > syslog.log

About 100 lines per second of log time, starting 10 Feb 00:00:00; 20 hosts,
12 programs (most with a pid), messages of 20-200 characters.
"""

import random
import sys

MONTH = "Feb"
PROGRAMS = ["sshd", "cron", "kernel", "systemd", "nginx", "postfix/smtpd", "dhclient",
            "sudo", "CRON", "rsyslogd", "dockerd", "app"]
WORDS = ["connection", "from", "accepted", "closed", "session", "opened", "for", "user",
         "root", "error", "timeout", "port", "ssh2", "pid", "exited", "status", "0", "1",
         "starting", "stopped", "request", "GET", "/api/v1/items", "took", "12ms"]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rnd = random.Random(20140210)
    hosts = [f"host{i:02d}" for i in range(20)]
    out = sys.stdout
    for i in range(n):
        secs = i // 100
        day, rest = 10 + secs // 86400, secs % 86400
        stamp = f"{MONTH} {day:2d} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
        prog = rnd.choice(PROGRAMS)
        tag = f"{prog}:" if rnd.random() < 0.2 else f"{prog}[{rnd.randint(1, 65535)}]:"
        words = [rnd.choice(WORDS) for _ in range(rnd.randint(3, 30))]
        out.write(f"{stamp} {rnd.choice(hosts)} {tag} {' '.join(words)}\n")


if __name__ == "__main__":
    main()
