# A cable with latency and loss, in user space: this machine's kernel has no netem qdisc
# ("Specified qdisc kind is unknown"), so tc cannot add delay (topology.ts slowCable).
#   python3 wire.py carry <if-a> <if-b> <delay-ms> <loss 0..1>
#     in a namespace that holds both ends of a cut cable (two interfaces outside any bridge):
#     every Ethernet frame that arrives on one end leaves by the other after the delay, unless
#     dropped with that probability; both directions, each in order.
#   python3 wire.py no-offload <if>
#     switches off the interface's checksum offload (and with it segmentation offload), what
#     `ethtool -K <if> tx off` does (no ethtool here). Every sender on the network needs it: a
#     veth otherwise hands on frames whose TCP checksum is not yet filled in, or 64 KB segments,
#     and a copy of those, sent again from user space, is dropped by the receiver.
import collections, ctypes, fcntl, random, socket, struct, sys, threading, time

PACKET_OUTGOING = 4

if sys.argv[1] == 'no-offload':
    SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x17
    value = ctypes.create_string_buffer(struct.pack('II', ETHTOOL_STXCSUM, 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, struct.pack('16sP', sys.argv[2].encode(), ctypes.addressof(value)))
    sys.exit(0)

a, b, delay, loss = sys.argv[2], sys.argv[3], float(sys.argv[4]) / 1000, float(sys.argv[5])

def open_end(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((name, 0))
    return s

ends = {a: open_end(a), b: open_end(b)}

def carry(src, dst):
    queue = collections.deque()
    ready = threading.Condition()
    def send():
        while True:
            with ready:
                while not queue:
                    ready.wait()
                due, frame = queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with ready:
                queue.popleft()
            try:
                ends[dst].send(frame)
            except OSError as e:
                print(f'wire: {src}->{dst}: {e} ({len(frame)} bytes)', file=sys.stderr, flush=True)
    threading.Thread(target=send, daemon=True).start()
    while True:
        frame, address = ends[src].recvfrom(65536)
        # The frames this process itself sends out of `src` come back as outgoing: not carried.
        if address[2] == PACKET_OUTGOING or random.random() < loss:
            continue
        with ready:
            queue.append((time.monotonic() + delay, frame))
            ready.notify()

threading.Thread(target=carry, args=(a, b), daemon=True).start()
threading.Thread(target=carry, args=(b, a), daemon=True).start()
print('wire: carrying', flush=True)
threading.Event().wait()
