#!/usr/bin/python3
# A submission server nobody here wrote (aiosmtpd) for the send-email
# tests: STARTTLS (or implicit TLS), AUTH PLAIN and LOGIN for one user.
# It takes AUTH in the clear too, so a test can see that the client never
# sends it there. Each message goes to OUT/msgN as received; OUT/log gets
# a line per AUTH and per message with the TLS state.
# usage: aiosmtpd-peer.py PORT CERT KEY OUT starttls|login|implicit|plain
# (login: STARTTLS with AUTH LOGIN only)
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, out, mode = sys.argv[1:6]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
log = open(os.path.join(out, "log"), "a", buffering=1)


def tls(server):
    return server.transport.get_extra_info("ssl_object") is not None


class Handler:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.n += 1
        with open(os.path.join(out, "msg%d" % Handler.n), "wb") as f:
            f.write(envelope.original_content)
        log.write("DATA from=%s to=%s tls=%d auth=%d\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos),
            tls(server), bool(session.authenticated)))
        return "250 2.0.0 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == b"alice"
          and auth_data.password == b"open sesame")
    log.write("AUTH %s tls=%d ok=%d\n" % (mechanism, tls(server), ok))
    # Two users whose logins fail as RFC 4954 6 lets a server say.
    login = getattr(auth_data, "login", b"")
    if login == b"weak":
        return AuthResult(success=False, handled=False,
                          message="534 5.7.9 Authentication mechanism is too weak")
    if login == b"later":
        return AuthResult(success=False, handled=False,
                          message="454 4.7.0 Temporary authentication failure")
    return AuthResult(success=ok, handled=False)


kw = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator,
          auth_require_tls=False)
if mode in ("starttls", "login"):
    kw["tls_context"] = ctx
if mode == "login":
    kw["auth_exclude_mechanism"] = ["PLAIN"]
elif mode == "implicit":
    kw["ssl_context"] = ctx
c = Controller(Handler(), **kw)
c.start()
sys.stdout.write("ready\n")
sys.stdout.flush()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
