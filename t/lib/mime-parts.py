#!/usr/bin/python3
# Print the MIME tree of the message in FILE as python's email package
# reads it, one line a part, tab-separated: depth, media type,
# disposition, file name, Content-ID, sha256 of the decoded bytes, and for
# text the decoded text with its line ends as \n (escaped).
import email
import email.policy
import hashlib
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)


def walk(part, depth):
    data = b"" if part.is_multipart() else part.get_payload(decode=True)
    text = ""
    if part.get_content_maintype() == "text":
        text = part.get_content().replace("\r\n", "\n").replace("\n", "\\n")
    print("\t".join([str(depth), part.get_content_type(),
                     part.get_content_disposition() or "",
                     part.get_filename() or "", part.get("Content-ID", ""),
                     hashlib.sha256(data).hexdigest(), text]))
    if part.is_multipart():
        for p in part.iter_parts() if hasattr(part, "iter_parts") else \
                part.get_payload():
            walk(p, depth + 1)


walk(msg, 0)
