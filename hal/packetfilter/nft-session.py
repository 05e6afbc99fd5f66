# One long-lived libnftables context (the library the nft tool is built on), driven by nft-session.ts.
# Requests on stdin: "<bytes>\n<JSON document>". Answers on stdout: "<rc> <bytes>\n<text>", the text being
# what nft would print: its output when rc is 0, its error messages otherwise. Each document is one
# nft_run_cmd_from_buffer call, so a batch is one kernel transaction, exactly as with `nft -j -f`.
import ctypes
import sys

NFT_CTX_OUTPUT_JSON = 1 << 4

try:
    lib = ctypes.CDLL("libnftables.so.1")
except OSError as err:
    sys.stderr.write("libnftables.so.1 is not installed: %s\n" % err)
    sys.exit(3)

lib.nft_ctx_new.restype = ctypes.c_void_p
lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

ctx = lib.nft_ctx_new(0)
lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
lib.nft_ctx_buffer_output(ctx)
lib.nft_ctx_buffer_error(ctx)

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer
stdout.write(b"ready\n")
stdout.flush()
while True:
    header = stdin.readline()
    if not header:
        break
    size = int(header)
    document = stdin.read(size)
    if len(document) != size:
        break
    rc = lib.nft_run_cmd_from_buffer(ctx, document)
    out = lib.nft_ctx_get_output_buffer(ctx) or b""
    err = lib.nft_ctx_get_error_buffer(ctx) or b""
    text = out if rc == 0 else err
    stdout.write(b"%d %d\n" % (rc, len(text)))
    stdout.write(text)
    stdout.flush()
