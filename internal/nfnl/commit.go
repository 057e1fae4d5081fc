package nfnl

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// RefusedError is the kernel's refusal of one message of a batch (the
// cause inside the one error type callers see, *nat.KernelError). The batch
// was aborted as a whole: nothing of it took effect.
type RefusedError struct {
	What  string     // what the refused message did, e.g. "create chain proxy_init OUTPUT"
	Msg   int        // its nf_tables message type (unix.NFT_MSG_NEWCHAIN, ...); 0 for the batch as a whole
	Errno unix.Errno // why
	Text  string     // the kernel's extended-ack text, if it gave one
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("%s: %v", e.What, e.Errno)
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

func (e *RefusedError) Unwrap() error { return e.Errno }

// ErrGenerationChanged means the ruleset changed after it was read, so a
// batch conditional on that generation was refused without effect.
var ErrGenerationChanged = errors.New("ruleset changed while we were working")

// Commit sends the batch as one transaction. If genID is non-zero the kernel
// applies it only if the ruleset generation is still genID. Only the last
// message asks for an acknowledgement: the kernel reports every refused
// message anyway, and the last answer tells us the batch has been processed.
func (s *Socket) Commit(b *Batch, genID uint32) error { return s.send(b, genID, true) }

// Check sends the batch without its end message, which makes the kernel
// process and validate every message, answer as for a commit, and then abort
// the whole batch: nothing changes (what nft --check does).
func (s *Socket) Check(b *Batch, genID uint32) error { return s.send(b, genID, false) }

func (s *Socket) send(b *Batch, genID uint32, end bool) error {
	if b.err != nil {
		return b.err
	}
	if len(b.offs) == 0 {
		return nil
	}
	begin := appendNlmsgHeader(nil, 0, netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), netlink.Request)
	begin = append(begin, nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)...)
	if genID != 0 {
		begin = appendAttrHeader(begin, unix.NLA_HDRLEN+4, unix.NFNL_BATCH_GENID)
		begin = binary.BigEndian.AppendUint32(begin, genID)
	}
	binary.NativeEndian.PutUint32(begin, uint32(len(begin)))
	first := beginRoom - len(begin)
	copy(b.buf[first:], begin)
	beginSeq := s.nextSeq()
	binary.NativeEndian.PutUint32(b.buf[first+8:], beginSeq)

	// Messages get consecutive sequence numbers after the begin message, so
	// a reply's sequence number indexes b.what.
	var lastSeq uint32
	for _, off := range b.offs {
		lastSeq = s.nextSeq()
		binary.NativeEndian.PutUint32(b.buf[off+8:], lastSeq)
	}
	last := b.offs[len(b.offs)-1]
	flags := binary.NativeEndian.Uint16(b.buf[last+6:])
	binary.NativeEndian.PutUint16(b.buf[last+6:], flags|uint16(netlink.Acknowledge))

	body := len(b.buf)
	if end {
		b.buf = appendNlmsgHeader(b.buf, 0, netlink.HeaderType(unix.NFNL_MSG_BATCH_END), netlink.Request)
		b.buf = append(b.buf, nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)...)
		binary.NativeEndian.PutUint32(b.buf[body:], uint32(len(b.buf)-body))
		binary.NativeEndian.PutUint32(b.buf[body+8:], s.nextSeq())
	}
	err := s.sendRaw(b.buf[first:])
	// The batch stays as built (without the end message), so it can be
	// inspected or sent again.
	binary.NativeEndian.PutUint16(b.buf[last+6:], flags)
	b.buf = b.buf[:body]
	if err != nil {
		return err
	}

	var firstErr error
	for {
		replies, err := s.receive()
		if err != nil {
			return errors.Join(firstErr, err)
		}
		for _, m := range replies {
			// Only answers to this batch count: anything else on the socket
			// is a leftover of an earlier exchange.
			if m.Header.Type != netlink.Error || !inBatch(m.Header.Sequence, beginSeq, lastSeq+1) {
				continue
			}
			errno, seq, text := nlError(m)
			if seq == beginSeq && errno != 0 {
				// Refused as a whole: no permission, or a stale generation.
				if errno == unix.ERESTART {
					return ErrGenerationChanged
				}
				return &RefusedError{What: "start transaction", Errno: errno, Text: text}
			}
			if errno != 0 && firstErr == nil {
				w, msg := "transaction", 0
				if i := int(seq - beginSeq - 1); i >= 0 && i < len(b.what) {
					w, msg = b.what[i], b.msgType(i)
				}
				firstErr = &RefusedError{What: w, Msg: msg, Errno: errno, Text: text}
			}
			if seq == lastSeq {
				return firstErr
			}
		}
	}
}

// inBatch reports whether seq lies in the batch's numbers first..end. The
// socket's numbers start from the clock and wrap at 2^32, so a batch may
// straddle the wrap (first near 2^32, end small): comparing distances from
// first, which uint32 subtraction computes modulo 2^32, stays right where
// comparing the numbers themselves would drop every reply.
func inBatch(seq, first, end uint32) bool {
	return seq-first <= end-first
}
