#!/usr/bin/env python3
"""Reference implementation of p3backup's encrypted object format,
version 1, written from doc/encryption.md alone (not from src/crypt.c),
so that the unit tests can prove the document describes what the code
writes.  Standard library only: AES-256-GCM through ctypes on OpenSSL's
libcrypto, the RSA-OAEP unwrap with the openssl command, zstd with the
zstd command.

    crypt_ref.py decrypt KEY.pem OBJECT_KEY IN OUT
        Decrypt the object IN, stored under OBJECT_KEY, with the private
        key KEY.pem into OUT.  Exit 1 with a message on any failure (OUT
        is then removed).

    crypt_ref.py seal DATAKEY_HEX HEADER_FILE OBJECT_KEY PLAINTEXT OUT
        Seal the bytes of PLAINTEXT as the body of an object with the
        given data key and header (the header is not written to OUT):
        known-answer vectors for the C code.
"""

import ctypes
import ctypes.util
import hashlib
import os
import struct
import subprocess
import sys

MAGIC = b"P3BENC"
FIXED = 48
CHUNK = 65536
TAG = 16
STORED = CHUNK + TAG
F_ZSTD = 0x01

EVP_CTRL_GCM_SET_IVLEN = 0x9
EVP_CTRL_GCM_GET_TAG = 0x10
EVP_CTRL_GCM_SET_TAG = 0x11


class Fail(Exception):
    """A reason to give up, shown to the user."""


def load_libcrypto():
    name = "libcrypto.so.3"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        found = ctypes.util.find_library("crypto")
        if found is None:
            raise Fail("cannot find OpenSSL's libcrypto")
        lib = ctypes.CDLL(found)
    vp, ip, i = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
    for fn, args, res in (
            ("EVP_CIPHER_CTX_new", [], vp),
            ("EVP_CIPHER_CTX_free", [vp], None),
            ("EVP_aes_256_gcm", [], vp),
            ("EVP_CIPHER_CTX_ctrl", [vp, i, i, vp], i),
            ("EVP_EncryptInit_ex", [vp, vp, vp, vp, vp], i),
            ("EVP_EncryptUpdate", [vp, vp, ip, vp, i], i),
            ("EVP_EncryptFinal_ex", [vp, vp, ip], i),
            ("EVP_DecryptInit_ex", [vp, vp, vp, vp, vp], i),
            ("EVP_DecryptUpdate", [vp, vp, ip, vp, i], i),
            ("EVP_DecryptFinal_ex", [vp, vp, ip], i)):
        f = getattr(lib, fn)
        f.argtypes = args
        f.restype = res
    return lib


class Gcm:
    """AES-256-GCM with a 12-byte nonce and a 16-byte tag."""

    def __init__(self, key):
        if len(key) != 32:
            raise Fail("the data key is not 32 bytes")
        self.lib = load_libcrypto()
        self.key = key

    def _run(self, encrypt, nonce, aad, data, tag=None):
        lib = self.lib
        init = lib.EVP_EncryptInit_ex if encrypt else lib.EVP_DecryptInit_ex
        update = lib.EVP_EncryptUpdate if encrypt else lib.EVP_DecryptUpdate
        final = lib.EVP_EncryptFinal_ex if encrypt else lib.EVP_DecryptFinal_ex
        ctx = lib.EVP_CIPHER_CTX_new()
        if not ctx:
            raise Fail("EVP_CIPHER_CTX_new failed")
        try:
            outl = ctypes.c_int(0)
            out = ctypes.create_string_buffer(len(data) + 16)
            ok = (init(ctx, lib.EVP_aes_256_gcm(), None, None, None) == 1 and
                  lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                          len(nonce), None) == 1 and
                  init(ctx, None, None, self.key, nonce) == 1 and
                  update(ctx, None, ctypes.byref(outl), aad, len(aad)) == 1)
            if not ok:
                raise Fail("AES-GCM setup failed")
            if update(ctx, out, ctypes.byref(outl), data, len(data)) != 1:
                raise Fail("AES-GCM failed")
            n = outl.value
            if not encrypt:
                tagbuf = ctypes.create_string_buffer(tag, TAG)
                if lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG,
                                           tagbuf) != 1:
                    raise Fail("AES-GCM setup failed")
            if final(ctx, ctypes.byref(out, n), ctypes.byref(outl)) != 1:
                return None
            n += outl.value
            result = out.raw[:n]
            if encrypt:
                tagbuf = ctypes.create_string_buffer(TAG)
                if lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG,
                                           tagbuf) != 1:
                    raise Fail("AES-GCM tag failed")
                result += tagbuf.raw
            return result
        finally:
            lib.EVP_CIPHER_CTX_free(ctx)

    def seal(self, nonce, aad, data):
        return self._run(True, nonce, aad, data)

    def open(self, nonce, aad, stored):
        """The chunk's plaintext, or None when it does not authenticate."""
        return self._run(False, nonce, aad, stored[:-TAG], stored[-TAG:])


def parse_header(fixed):
    """(flags, L, key id) of the 48 fixed header bytes."""
    if len(fixed) < len(MAGIC) or fixed[:len(MAGIC)] != MAGIC:
        raise Fail("not an encrypted object")
    if len(fixed) < FIXED:
        raise Fail("truncated")
    version, flags, chunk, wlen, reserved = struct.unpack(">BBIHH",
                                                          fixed[6:16])
    if version != 1 or flags & ~F_ZSTD or chunk != CHUNK:
        raise Fail("unsupported format version")
    if not 256 <= wlen <= 1024 or reserved != 0:
        raise Fail("corrupted header")
    return flags, wlen, fixed[16:48]


def chunk_params(hhash, khash, index, final):
    """Nonce and additional data of chunk "index"."""
    nonce = b"\0\0\0\0" + struct.pack(">Q", index)
    aad = hhash + khash + struct.pack(">QB", index, 1 if final else 0)
    return nonce, aad


def openssl(args, data):
    r = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if r.returncode != 0:
        raise Fail("openssl %s: %s" % (args[0],
                   r.stderr.decode(errors="replace").strip()))
    return r.stdout


def unwrap(keyfile, keyid, wrapped):
    der = openssl(["pkey", "-in", keyfile, "-pubout", "-outform", "DER"],
                  b"")
    if hashlib.sha256(der).digest() != keyid:
        raise Fail("encrypted for another key")
    try:
        key = openssl(["pkeyutl", "-decrypt", "-inkey", keyfile,
                       "-pkeyopt", "rsa_padding_mode:oaep",
                       "-pkeyopt", "rsa_oaep_md:sha256",
                       "-pkeyopt", "rsa_mgf1_md:sha256"], wrapped)
    except Fail:
        raise Fail("corrupted header")
    if len(key) != 32:
        raise Fail("corrupted header")
    return key


def decrypt_stream(keyfile, okey, f, total, sink):
    """Check and decrypt the object in "f" ("total" bytes) into sink()."""
    fixed = f.read(FIXED)
    flags, wlen, keyid = parse_header(fixed)
    header = fixed + f.read(wlen)
    if len(header) != FIXED + wlen or total < len(header):
        raise Fail("truncated")
    gcm = Gcm(unwrap(keyfile, keyid, header[FIXED:]))
    hhash = hashlib.sha256(header).digest()
    khash = hashlib.sha256(okey).digest()
    body = total - len(header)
    n = (body + STORED - 1) // STORED
    if body <= 0 or body - (n - 1) * STORED < TAG:
        raise Fail("truncated")
    for i in range(n):
        want = STORED if i < n - 1 else body - (n - 1) * STORED
        stored = f.read(want)
        if len(stored) != want:
            raise Fail("truncated")
        plain = gcm.open(*chunk_params(hhash, khash, i, i == n - 1),
                         stored)
        if plain is None:
            raise Fail("corrupted: chunk %d does not authenticate" % i)
        sink(plain)
    return flags


def decrypt(keyfile, okey, inpath, outpath):
    with open(inpath, "rb") as f, open(outpath, "wb") as out:
        total = os.fstat(f.fileno()).st_size
        # Peek at the flags to know where the stream goes.
        flags, _, _ = parse_header(f.read(FIXED))
        f.seek(0)
        if not flags & F_ZSTD:
            decrypt_stream(keyfile, okey, f, total, out.write)
            return
        # The zstd tool checks that the frame is complete.  Its stderr
        # is kept back: after a failure of ours it only adds noise.
        z = subprocess.Popen(["zstd", "-d", "-q", "-c"],
                             stdin=subprocess.PIPE, stdout=out,
                             stderr=subprocess.PIPE)
        try:
            decrypt_stream(keyfile, okey, f, total, z.stdin.write)
        finally:
            z.stdin.close()
            err = z.stderr.read()
            rc = z.wait()
        if rc != 0:
            raise Fail("bad compressed data: %s" %
                       err.decode(errors="replace").strip())


def seal(keyhex, headerpath, okey, plainpath, outpath):
    key = bytes.fromhex(keyhex)
    with open(headerpath, "rb") as f:
        header = f.read()
    _, wlen, _ = parse_header(header[:FIXED])
    if len(header) != FIXED + wlen:
        raise Fail("%s: not a whole header" % headerpath)
    with open(plainpath, "rb") as f:
        plain = f.read()
    gcm = Gcm(key)
    hhash = hashlib.sha256(header).digest()
    khash = hashlib.sha256(okey).digest()
    n = max(1, (len(plain) + CHUNK - 1) // CHUNK)
    with open(outpath, "wb") as out:
        for i in range(n):
            chunk = plain[i * CHUNK:(i + 1) * CHUNK]
            out.write(gcm.seal(*chunk_params(hhash, khash, i, i == n - 1),
                               chunk))


def main(argv):
    try:
        if len(argv) == 5 and argv[0] == "decrypt":
            try:
                decrypt(argv[1], os.fsencode(argv[2]), argv[3], argv[4])
            except BaseException:
                if os.path.exists(argv[4]):
                    os.unlink(argv[4])
                raise
        elif len(argv) == 6 and argv[0] == "seal":
            seal(argv[1], argv[2], os.fsencode(argv[3]), argv[4], argv[5])
        else:
            sys.stderr.write(__doc__)
            return 2
    except (Fail, OSError, ValueError) as e:
        sys.stderr.write("crypt_ref.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
