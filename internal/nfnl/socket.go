// Package nfnl is our nfnetlink: one raw NETLINK_NETFILTER socket, opened
// in a chosen network namespace, that sends one nf_tables batch (Batch,
// Commit, Check) and reads everything back (Generation, then a View pinned
// to it: tables, sets, set elements, chains and rules), with replies
// matched to the messages we sent. It is the only path to the kernel's
// nf_tables; start at Socket.
//
// Writes: google/nftables' Conn.Flush asks for an acknowledgement of every
// message (which overflows the receive buffer on large batches and costs a
// round of parsing per message), cannot carry the generation id that makes
// a replace conditional, and reports errors without saying which message
// failed. Reads: one socket and one dump per kind of object, every object
// checked against the generation read first, so a read is one snapshot;
// google/nftables' dumps took a second socket, skipped the expressions they
// could not decode, and read set elements in 4 KiB datagrams.
//
// google/nftables remains as the expression codec only (expr.Marshal when
// building a rule, expr.Unmarshal when reading one): its expression types
// are what lowering and decoding in nat/kernel are written in.
package nfnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/proxy-init/netlink-native/internal/netns"
	"golang.org/x/sys/unix"
)

// Socket is a NETLINK_NETFILTER socket bound to one network namespace.
type Socket struct {
	fd      int
	seq     uint32
	rbuf    []byte
	timeout time.Duration // the receive timeout set, 0 before the first
}

// Open opens the socket inside the namespace nsFD (negative: our own).
func Open(nsFD int) (*Socket, error) {
	var fd int
	err := netns.Do(nsFD, func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open netfilter netlink socket: %w", err)
	}
	s := &Socket{fd: fd, seq: uint32(time.Now().UnixNano())}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		s.Close()
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	// Errors then carry the kernel's own explanation and only the header of
	// the failed message, not a copy of it.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	if err := s.SetDeadline(time.Time{}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// DefaultTimeout bounds each wait for the kernel when no deadline is set.
const DefaultTimeout = 30 * time.Second

// ErrTimeout is returned when the kernel has not answered by the deadline;
// it matches os.ErrDeadlineExceeded. (A type, not fmt.Errorf: package
// initialisation is part of every pod's start.)
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "no answer from the kernel in time" }
func (timeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

// SetDeadline bounds every later wait for an answer: until t, or for
// DefaultTimeout each when t is zero. The socket blocks in recvfrom outside
// the runtime's poller (which a pod's one-shot install never starts), so the
// bound is the socket's receive timeout, set here; a deadline already past
// fails at once.
func (s *Socket) SetDeadline(t time.Time) error {
	d := DefaultTimeout
	if !t.IsZero() {
		if d = time.Until(t); d <= 0 {
			return ErrTimeout
		}
	}
	if d == s.timeout {
		return nil
	}
	tv := unix.NsecToTimeval(int64(max(d, time.Microsecond)))
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("set receive timeout: %w", err)
	}
	s.timeout = d
	return nil
}

// Close releases the socket.
func (s *Socket) Close() error { return unix.Close(s.fd) }

func (s *Socket) nextSeq() uint32 {
	s.seq++
	return s.seq
}

// sendRaw writes an encoded datagram; a batch must arrive in one piece.
func (s *Socket) sendRaw(buf []byte) error {
	// The kernel refuses a datagram larger than the send buffer; only a large
	// batch pays for raising it. SO_SNDBUFFORCE works with CAP_NET_ADMIN,
	// which we need anyway, and is not capped by net.core.wmem_max.
	if size := len(buf); size > 200<<10 {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size+4096); err != nil {
			_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size+4096)
		}
	}
	if err := unix.Sendto(s.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send to kernel: %w", err)
	}
	return nil
}

// receive reads one datagram and splits it into messages, which share the
// socket's receive buffer until the next call.
func (s *Socket) receive() ([]netlink.Message, error) {
	if s.rbuf == nil {
		s.rbuf = make([]byte, 64<<10)
	}
	for {
		n, _, err := unix.Recvfrom(s.fd, s.rbuf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return nil, ErrTimeout
		}
		if err != nil {
			return nil, fmt.Errorf("receive from kernel: %w", err)
		}
		return parseMessages(s.rbuf[:n])
	}
}

func parseMessages(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return nil, errors.New("malformed netlink message from kernel")
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:l]); err != nil {
			return nil, err
		}
		out = append(out, m)
		b = b[min(nlmsgAlign(l), len(b)):]
	}
	return out, nil
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// nlError decodes an NLMSG_ERROR payload: the errno (0 for an ack), the
// sequence number of the message it answers, and the kernel's text if any.
func nlError(m netlink.Message) (errno unix.Errno, seq uint32, text string) {
	d := m.Data
	if len(d) < 4+unix.NLMSG_HDRLEN {
		return unix.EINVAL, 0, ""
	}
	errno = unix.Errno(-int32(binary.NativeEndian.Uint32(d)))
	seq = binary.NativeEndian.Uint32(d[4+8:])
	if m.Header.Flags&0x200 == 0 { // NLM_F_ACK_TLVS
		return errno, seq, ""
	}
	off := 4 + unix.NLMSG_HDRLEN
	if m.Header.Flags&0x100 == 0 { // NLM_F_CAPPED: no copy of our message
		off = 4 + int(binary.NativeEndian.Uint32(d[4:]))
	}
	if off > len(d) {
		return errno, seq, ""
	}
	ad, err := netlink.NewAttributeDecoder(d[nlmsgAlign(off):])
	if err != nil {
		return errno, seq, ""
	}
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			text = ad.String()
		}
	}
	return errno, seq, text
}

// nfgenmsg is the header every nfnetlink message starts with.
func nfgenmsg(family uint8, resID uint16) []byte {
	return []byte{family, unix.NFNETLINK_V0, byte(resID >> 8), byte(resID)}
}

func nftType(msg int) netlink.HeaderType {
	return netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msg)
}

// Generation returns the ruleset generation id, which the kernel bumps on
// every committed change in the namespace.
func (s *Socket) Generation() (uint32, error) {
	var gen uint32
	found := false
	_, err := s.request(unix.NFT_MSG_GETGEN, false, unix.AF_UNSPEC, nil, nil, func(_ uint8, ad *netlink.AttributeDecoder) {
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				gen, found = ad.Uint32(), true
			}
		}
	})
	if err == nil && !found {
		err = errors.New("no id in the answer")
	}
	if err != nil {
		return 0, fmt.Errorf("read ruleset generation: %w", err)
	}
	return gen, nil
}

// request sends one get request, a dump of every matching object when dump
// is set, and hands the attributes of every object in the answer, with its
// family, to each, until the kernel says done (a dump) or has answered (a
// single get). With gen set (a read pinned to a generation, see View) every
// object must carry that generation; if one does not, the dump is still read
// to its end (the socket could not start another one before) and
// ErrGenerationChanged returned.
func (s *Socket) request(msgType int, dump bool, family uint8, attrs []byte, gen *uint32, each func(family uint8, ad *netlink.AttributeDecoder)) (objects int, err error) {
	a := answer{seq: s.nextSeq(), single: !dump, gen: gen, each: each}
	flags := netlink.Request
	if dump {
		flags |= netlink.Dump
	}
	req := appendNlmsgHeader(nil, uint32(unix.NLMSG_HDRLEN+4+len(attrs)), nftType(msgType), flags)
	binary.NativeEndian.PutUint32(req[8:], a.seq)
	req = append(append(req, nfgenmsg(family, 0)...), attrs...)
	if err := s.sendRaw(req); err != nil {
		return 0, err
	}
	for {
		msgs, err := s.receive()
		if err != nil {
			return a.objects, err
		}
		if done, err := a.take(msgs); done {
			return a.objects, err
		}
	}
}

// answer collects the kernel's answer to one get request.
type answer struct {
	seq     uint32
	single  bool    // a get of one object, not a dump: its first object ends it
	gen     *uint32 // the generation every object must carry, if set
	each    func(family uint8, ad *netlink.AttributeDecoder)
	objects int // how many objects were handed to each
	stale   bool
	err     error
}

// take processes the messages of one datagram; done when the answer is
// complete, with the error it ended with.
func (a *answer) take(msgs []netlink.Message) (done bool, err error) {
	for _, m := range msgs {
		if m.Header.Sequence != a.seq {
			continue // a leftover of an earlier exchange
		}
		switch m.Header.Type {
		case netlink.Done:
			return true, a.result()
		case netlink.Error:
			if errno, _, _ := nlError(m); errno != 0 {
				return true, errno
			}
			return true, a.result()
		}
		if len(m.Data) < 4 {
			continue
		}
		// nfgenmsg.res_id: the low 16 bits of the generation the kernel was
		// at when it wrote this object (big endian, like the attributes).
		if a.gen != nil && binary.BigEndian.Uint16(m.Data[2:]) != uint16(*a.gen) {
			a.stale = true
		}
		if a.stale || a.err != nil {
			if a.single {
				return true, a.result()
			}
			continue // drain the dump
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			a.err = err
			continue
		}
		ad.ByteOrder = binary.BigEndian // nf_tables' attributes are
		a.each(m.Data[0], ad)
		a.objects++
		if err := ad.Err(); err != nil {
			a.err = err
		}
		if a.single {
			return true, a.result()
		}
	}
	return false, nil
}

func (a *answer) result() error {
	if a.stale {
		return ErrGenerationChanged
	}
	return a.err
}
