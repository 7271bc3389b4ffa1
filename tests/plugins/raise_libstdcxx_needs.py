#!/usr/bin/env python3
"""Rewrites, in place, every libstdc++ version name 'GLIBCXX_3.4.NN' in a built plugin to
'GLIBCXX_3.4.99' (the same length, so no offset moves): the library then needs a version
no libstdc++ has, as one built by a far newer compiler would. The host must refuse it,
naming the version, before it loads the library. Fails when there is nothing to rewrite."""
import re
import sys

path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()
raised, count = re.subn(rb"GLIBCXX_3\.4\.\d\d\x00", b"GLIBCXX_3.4.99\x00", data)
if count == 0:
    sys.exit(f"{path}: no GLIBCXX_3.4.NN version name to raise")
with open(path, "wb") as f:
    f.write(raised)
