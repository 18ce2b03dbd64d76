"""Digests by e-mail through a real SMTP server (aiosmtpd, on loopback), with the shoplens binary:

1. `notify test`: each recipient gets one message with a text and an HTML part whose figures
   are `kpi --json`'s for the same day and whose "Why" is `explain --json`'s summary;
2. `serve --schedule` on a clock started just before 08:00: the SMTP server stalls the first
   delivery, the test kills the server (SIGKILL) in the middle of it and starts it again: each
   recipient gets the digest exactly once;
3. the SMTP server refuses (451) the first attempts, then accepts: `/healthz` shows the failure
   meanwhile, and the digest arrives once.

Run by tests/schedule.rs with SHOPLENS (the binary), WAREHOUSE and LAST_DAY in the environment.
"""

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta

from aiosmtpd.controller import Controller

EXE, WH, LAST = os.environ["SHOPLENS"], os.environ["WAREHOUSE"], os.environ["LAST_DAY"]
TO = ["ana@example.com", "ben@example.com"]


def check(ok, what):
    if not ok:
        raise AssertionError(what)
    print("ok:", what, flush=True)


class Handler:
    def __init__(self):
        self.messages = []
        self.stall = 0.0  # seconds the next RCPT waits (once)
        self.stalling = threading.Event()
        self.refuse = 0  # DATA answered 451 this many times
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stall:
            wait, self.stall = self.stall, 0.0
            self.stalling.set()
            await asyncio.sleep(wait)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 try again later"
            self.messages.append((envelope.rcpt_tos[:], envelope.content))
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shoplens_json(*args):
    out = subprocess.run([EXE, *args, "--warehouse", WH, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def money(x):
    return f"{x:,.2f}"


def write_schedule(folder, smtp_port, digest, retry="first = \"1s\"\nmax = \"2s\""):
    path = os.path.join(folder, f"{digest}.toml")
    with open(path, "w") as f:
        f.write(f"""
timezone = "UTC"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "shoplens <reports@example.com>"

[[digest]]
name = "{digest}"
every = "day"
at = "08:00"
to = {json.dumps(TO)}

[retry]
{retry}
""")
    return path


def parse(content):
    return email.message_from_bytes(content, policy=email.policy.default)


def serve(schedule, clock_start, port):
    return subprocess.Popen(
        [EXE, "serve", "--warehouse", WH, "--addr", f"127.0.0.1:{port}", "--schedule", schedule,
         "--clock-start", clock_start],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return json.load(r)
    except OSError:
        return None


def wait_for(cond, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def main():
    handler = Handler()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    folder = tempfile.mkdtemp()
    try:
        # 1. notify test: the figures are kpi's and explain's
        schedule = write_schedule(folder, smtp_port, "daily")
        subprocess.run([EXE, "notify", "test", "--warehouse", WH, "--schedule", schedule], check=True)
        check(len(handler.messages) == 2, "notify test: one message per recipient")
        kpi = shoplens_json("kpi", "--from", LAST, "--to", LAST)
        why = shoplens_json("explain", "--from", LAST, "--to", LAST)["summary"]
        for rcpts, content in handler.messages:
            m = parse(content)
            check(m.get_content_type() == "multipart/alternative", "a multipart/alternative message")
            text = m.get_body(preferencelist=("plain",)).get_content()
            html = m.get_body(preferencelist=("html",)).get_content()
            check("<script" not in html.lower() and "<table" in html, "the HTML part has a table and no script")
            s = kpi["summary"]
            check(f"Revenue: EUR {money(s['total_revenue'])}" in text or f"Revenue: {money(s['total_revenue'])}" in text,
                  f"the text's revenue is kpi's ({s['total_revenue']})")
            check(f"Orders: {s['orders']} " in text, f"the text's orders are kpi's ({s['orders']})")
            check(f"Customers: {s['customers']} " in text, "the text's customers are kpi's")
            check(f"Why: {why}" in text, "the text's drivers are explain's summary")
            check(money(s["total_revenue"]) in html, "the HTML has the revenue too")
            check(LAST in m["Subject"], f"the subject names the day ({m['Subject']})")
        handler.messages.clear()

        # 2. SIGKILL while sending, then restart: exactly once
        day = date.fromisoformat(LAST) + timedelta(days=1)
        start = f"{day}T07:59:56Z"
        port = free_port()
        schedule = write_schedule(folder, smtp_port, "killed")
        handler.stall = 6.0
        handler.stalling.clear()
        first = serve(schedule, start, port)
        check(handler.stalling.wait(40), "the scheduled digest started sending")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        check(not handler.messages, "nothing was accepted before the kill")
        second = serve(schedule, start, port)
        try:
            wait_for(lambda: len(handler.messages) >= 2, 60, "both digests after the restart")
            time.sleep(8)  # a duplicate would come within the next ticks
            got = sorted(r[0] for r, _ in handler.messages)
            check(got == TO, f"each recipient got the digest exactly once ({got})")
            ids = {parse(c)["Message-ID"] for _, c in handler.messages}
            check(len(ids) == 2, "one Message-ID per delivery")
        finally:
            second.kill()
            second.wait()
        log = open(os.path.join(WH, "notify", "deliveries.jsonl")).read().splitlines()
        sent = [json.loads(l) for l in log if '"sent"' in l and "killed" in l]
        check(len(sent) == 2, "the delivery log records two sends")
        handler.messages.clear()

        # 3. refused, then accepted: the failure visible meanwhile, sent once
        schedule = write_schedule(folder, smtp_port, "refused", retry='first = "6s"\nmax = "6s"')
        handler.refuse = 2
        port = free_port()
        third = serve(schedule, start, port)
        try:
            seen = {}

            def failing():
                h = healthz(port)
                if h and h.get("status") == "degraded" and h["schedule"]["notify"]["failing"]:
                    seen.update(h)
                    return True
                return False

            wait_for(failing, 60, "/healthz to show the failing delivery")
            error = seen["schedule"]["notify"]["failing"][0]["error"]
            check("451" in error or "try again" in error, f"/healthz names the SMTP refusal ({error})")
            wait_for(lambda: len(handler.messages) >= 2, 90, "the digests after the retries")
            time.sleep(8)
            check(sorted(r[0] for r, _ in handler.messages) == TO, "sent once to each recipient after the retries")
            wait_for(lambda: (healthz(port) or {}).get("status") == "ok", 20, "/healthz ok again")
        finally:
            third.kill()
            third.wait()
    finally:
        controller.stop()
    print("all SMTP checks passed")


main()
