/**
 * The gratuitous-ARP sender run by garp-helper.ts as `python3 -c`: the source travels with the code, so
 * it works the same from a bundle (where no file sits next to the module). One AF_PACKET socket and one
 * rtnetlink socket for the process's life; each request reads the link (and, when asked, its IPv4
 * addresses) from the kernel, then sends one frame built exactly as iputils arping builds it.
 *
 * Requests on stdin, one JSON object a line: {"id", "link", "ip", "form": "request"|"reply", "check"}.
 * Answers on stdout, one a line, after the frame was handed to the kernel:
 *   {"id", "exists", "doesArp", "adminUp", "carrier", "hasAddress", "sent"}  or  {"id", "error": text}.
 * A frame is sent only when the link exists, does ARP, has carrier and (with "check") holds the address.
 * The first line is {"ready": true}. Exit 4: no AF_PACKET socket (no CAP_NET_RAW). EOF on stdin: exit.
 */
export const GARP_HELPER_PY = String.raw`
import errno, json, os, socket, struct, sys

ETH_P_ARP = 0x0806
RTM_GETLINK, RTM_GETADDR = 18, 22
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 1, 2, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFF_UP, IFF_LOOPBACK, IFF_NOARP, IFF_LOWER_UP = 0x1, 0x8, 0x80, 0x10000
BROADCAST = b"\xff" * 6

try:
    pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
except OSError as err:
    sys.stderr.write("cannot open an AF_PACKET socket: %s\n" % err)
    sys.exit(4)
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
nl.bind((0, 0))
seq = 0


def attrs(buf, off):
    out = {}
    while off + 4 <= len(buf):
        size, kind = struct.unpack_from("=HH", buf, off)
        if size < 4:
            break
        out[kind & 0x3FFF] = buf[off + 4 : off + size]
        off += (size + 3) & ~3
    return out


def rtnl(kind, flags, body):
    global seq
    seq += 1
    nl.send(struct.pack("=IHHII", 16 + len(body), kind, flags | NLM_F_REQUEST, seq, 0) + body)
    msgs = []
    while True:
        data = nl.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            size, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII", data, off)
            payload = data[off + 16 : off + size]
            off += (max(size, 16) + 3) & ~3
            if mseq != seq:
                continue
            if mtype == NLMSG_DONE:
                return msgs
            if mtype == NLMSG_ERROR:
                code = -struct.unpack_from("=i", payload)[0]
                if code:
                    raise OSError(code, os.strerror(code))
                return msgs
            msgs.append(payload)
            if not mflags & NLM_F_MULTI:
                return msgs


def link_of(name):
    raw = name.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(raw), IFLA_IFNAME) + raw + b"\0" * (-len(raw) % 4)
    try:
        msgs = rtnl(RTM_GETLINK, 0, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + attr)
    except OSError as err:
        if err.errno in (errno.ENODEV, errno.ENOENT):
            return None
        raise
    _, _, index, flags, _ = struct.unpack_from("=BxHiII", msgs[0])
    return index, flags, attrs(msgs[0], 16).get(IFLA_ADDRESS, b"")


def has_address(index, ip):
    for m in rtnl(RTM_GETADDR, NLM_F_DUMP, struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0)):
        if struct.unpack_from("=BBBBI", m)[4] != index:
            continue
        a = attrs(m, 8)
        if a.get(IFA_LOCAL, a.get(IFA_ADDRESS)) == ip:
            return True
    return False


def frame(mac, ip, reply):
    eth = BROADCAST + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2 if reply else 1)
    return eth + arp + mac + ip + (mac if reply else BROADCAST) + ip


def handle(req):
    ip = socket.inet_aton(req["ip"])
    link = link_of(req["link"])
    if link is None:
        return {"exists": False, "sent": False}
    index, flags, mac = link
    state = {
        "exists": True,
        "doesArp": not flags & (IFF_LOOPBACK | IFF_NOARP) and len(mac) == 6,
        "adminUp": bool(flags & IFF_UP),
        "carrier": bool(flags & IFF_LOWER_UP),
        "hasAddress": has_address(index, ip) if req.get("check") else None,
        "sent": False,
    }
    if state["doesArp"] and state["carrier"] and state["hasAddress"] is not False:
        try:
            pkt.sendto(frame(mac, ip, req["form"] == "reply"), (req["link"], ETH_P_ARP))
            state["sent"] = True
        except OSError as err:
            if err.errno in (errno.ENODEV, errno.ENXIO):
                return {"exists": False, "sent": False}
            if err.errno != errno.ENETDOWN:
                raise
    return state


out = sys.stdout
out.write('{"ready": true}\n')
out.flush()
stdin = sys.stdin.buffer
while True:
    line = stdin.readline()
    if not line:
        break
    req = json.loads(line)
    try:
        answer = handle(req)
    except Exception as err:
        answer = {"error": "%s: %s" % (type(err).__name__, err)}
    answer["id"] = req["id"]
    out.write(json.dumps(answer) + "\n")
    out.flush()
`;
