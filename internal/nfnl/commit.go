package nfnl

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// KernelError is the kernel's refusal of one message of a batch. The batch
// was aborted as a whole: nothing of it took effect.
type KernelError struct {
	What  string     // what the refused message did, e.g. "create chain proxy_init OUTPUT"
	Errno unix.Errno // why
	Text  string     // the kernel's extended-ack text, if it gave one
}

func (e *KernelError) Error() string {
	s := fmt.Sprintf("%s: %v", e.What, e.Errno)
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

func (e *KernelError) Unwrap() error { return e.Errno }

// ErrGenerationChanged means the ruleset changed after it was read, so a
// batch conditional on that generation was refused without effect.
var ErrGenerationChanged = errors.New("ruleset changed while we were working")

// Commit sends the batch as one transaction. If genID is non-zero the kernel
// applies it only if the ruleset generation is still genID. Only the last
// message asks for an acknowledgement: the kernel reports every refused
// message anyway, and the last answer tells us the batch has been processed.
func (s *Socket) Commit(b *Batch, genID uint32) error {
	if b.err != nil {
		return b.err
	}
	if len(b.msgs) == 0 {
		return nil
	}
	begin := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), Flags: netlink.Request},
		Data:   nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES),
	}
	if genID != 0 {
		attr, _ := netlink.MarshalAttributes([]netlink.Attribute{
			{Type: unix.NFNL_BATCH_GENID, Data: binary.BigEndian.AppendUint32(nil, genID)},
		})
		begin.Data = append(begin.Data, attr...)
	}
	end := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_END), Flags: netlink.Request},
		Data:   nfgenmsg(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES),
	}
	msgs := make([]netlink.Message, 0, len(b.msgs)+2)
	msgs = append(msgs, begin)
	msgs = append(msgs, b.msgs...)
	msgs = append(msgs, end)
	what := make(map[uint32]string, len(msgs))
	for i := range msgs {
		msgs[i].Header.Sequence = s.nextSeq()
		if i > 0 && i < len(msgs)-1 {
			what[msgs[i].Header.Sequence] = b.what[i-1]
		}
	}
	beginSeq := msgs[0].Header.Sequence
	last := &msgs[len(msgs)-2]
	last.Header.Flags |= netlink.Acknowledge
	lastSeq := last.Header.Sequence

	if err := s.send(msgs); err != nil {
		return err
	}
	var first error
	buf := make([]byte, 64<<10)
	for {
		replies, err := s.receive(buf)
		if err != nil {
			return errors.Join(first, err)
		}
		for _, m := range replies {
			if m.Header.Type != netlink.Error {
				continue
			}
			errno, seq, text := nlError(m)
			if seq == beginSeq && errno != 0 {
				// Refused as a whole: no permission, or a stale generation.
				if errno == unix.ERESTART {
					return ErrGenerationChanged
				}
				return &KernelError{What: "start transaction", Errno: errno, Text: text}
			}
			if errno != 0 && first == nil {
				w, ok := what[seq]
				if !ok {
					w = "transaction"
				}
				first = &KernelError{What: w, Errno: errno, Text: text}
			}
			if seq == lastSeq {
				return first
			}
		}
	}
}
