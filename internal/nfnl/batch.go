package nfnl

import (
	"encoding/binary"
	"fmt"
	"iter"
	"strconv"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Batch is one nf_tables transaction under construction, encoded as it is
// built into the single buffer that is sent: a large install is megabytes,
// and every extra copy shows in its time and peak memory. Builders record the
// first encoding error; Commit returns it before anything is sent.
type Batch struct {
	buf   []byte   // beginRoom reserved bytes, then the messages, aligned
	offs  []int    // where each message starts in buf
	what  []string // what each message does, for error messages
	err   error
	setID uint32
}

// beginRoom is reserved at the front of buf for the batch-begin message,
// which Commit writes there once it knows whether it carries a generation id.
const beginRoom = unix.NLMSG_HDRLEN + 4 + unix.NLA_HDRLEN + 4

// start appends the header of a message whose length finish fills in.
func (b *Batch) start(msgType int, flags netlink.HeaderFlags, family uint8, what string) int {
	if b.buf == nil {
		b.buf = make([]byte, beginRoom, 4096)
	}
	off := len(b.buf)
	b.buf = appendNlmsgHeader(b.buf, 0, nftType(msgType), netlink.Request|flags)
	b.buf = append(b.buf, nfgenmsg(family, 0)...)
	b.offs = append(b.offs, off)
	b.what = append(b.what, what)
	return off
}

func (b *Batch) finish(off int) {
	binary.NativeEndian.PutUint32(b.buf[off:], uint32(len(b.buf)-off))
	b.buf = append(b.buf, make([]byte, nlmsgAlign(len(b.buf))-len(b.buf))...)
}

func appendNlmsgHeader(b []byte, length uint32, typ netlink.HeaderType, flags netlink.HeaderFlags) []byte {
	b = binary.NativeEndian.AppendUint32(b, length)
	b = binary.NativeEndian.AppendUint16(b, uint16(typ))
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, 0) // sequence, set by Commit
	return binary.NativeEndian.AppendUint32(b, 0)
}

// Grow makes room for about n more bytes of messages, so that building a
// large batch does not copy its buffer over and over.
func (b *Batch) Grow(n int) {
	if b.buf == nil {
		b.buf = make([]byte, beginRoom, beginRoom+n)
		return
	}
	b.buf = append(b.buf[:len(b.buf):len(b.buf)], make([]byte, n)...)[:len(b.buf)]
}

// msgType is the nf_tables message type of message i (NFT_MSG_NEWRULE, ...),
// read back from its header.
func (b *Batch) msgType(i int) int {
	return int(binary.NativeEndian.Uint16(b.buf[b.offs[i]+4:]) & 0xff)
}

// Len is the number of messages in the batch.
func (b *Batch) Len() int { return len(b.offs) }

// AddTable creates a table. With exclusive, the whole batch fails with
// EEXIST when the table is already there, which is how a fresh install finds
// out in the same round trip that it is not fresh.
func (b *Batch) AddTable(family uint8, name string, exclusive bool) {
	flags := netlink.HeaderFlags(netlink.Create)
	if exclusive {
		flags |= netlink.Excl
	}
	off := b.start(unix.NFT_MSG_NEWTABLE, flags, family, "create table "+name)
	b.putString(unix.NFTA_TABLE_NAME, name)
	b.putUint32(unix.NFTA_TABLE_FLAGS, 0)
	b.finish(off)
}

// DelTable deletes a table and everything in it.
func (b *Batch) DelTable(family uint8, name string) {
	off := b.start(unix.NFT_MSG_DELTABLE, 0, family, "delete table "+name)
	b.putString(unix.NFTA_TABLE_NAME, name)
	b.finish(off)
}

// BaseHook attaches a chain to a netfilter hook.
type BaseHook struct {
	Num      uint32 // NF_INET_PRE_ROUTING, NF_INET_LOCAL_OUT, ...
	Priority int32
	Type     string // "nat"
}

// AddChain creates a regular chain, or a base chain with policy accept.
func (b *Batch) AddChain(family uint8, table, name string, hook *BaseHook) {
	off := b.start(unix.NFT_MSG_NEWCHAIN, netlink.Create|netlink.Excl, family, "create chain "+table+" "+name)
	b.putString(unix.NFTA_CHAIN_TABLE, table)
	b.putString(unix.NFTA_CHAIN_NAME, name)
	if hook != nil {
		b.buf = appendAttrHeader(b.buf, unix.NLA_HDRLEN+2*(unix.NLA_HDRLEN+4), unix.NLA_F_NESTED|unix.NFTA_CHAIN_HOOK)
		b.putUint32(unix.NFTA_HOOK_HOOKNUM, hook.Num)
		b.putUint32(unix.NFTA_HOOK_PRIORITY, uint32(hook.Priority))
		b.putUint32(unix.NFTA_CHAIN_POLICY, nfAccept)
		b.putString(unix.NFTA_CHAIN_TYPE, hook.Type)
	}
	b.finish(off)
}

// Datatype ids nft uses for set keys; nft needs them to print elements.
const (
	TypeIPv4Addr   = 7
	TypeIPv6Addr   = 8
	TypeInetServic = 13
)

// AddIntervalSet creates an empty named interval set. It is not constant, so
// elements can be added by later messages of the same batch (the kernel
// sizes a constant set to the elements of its creating message).
func (b *Batch) AddIntervalSet(family uint8, table, name string, keyType, keyLen uint32) {
	b.setID++
	id := b.setID
	off := b.start(unix.NFT_MSG_NEWSET, netlink.Create|netlink.Excl, family, "create set "+table+" "+name)
	b.putString(unix.NFTA_SET_TABLE, table)
	b.putString(unix.NFTA_SET_NAME, name)
	b.putUint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_INTERVAL)
	b.putUint32(unix.NFTA_SET_KEY_TYPE, keyType)
	b.putUint32(unix.NFTA_SET_KEY_LEN, keyLen)
	b.putUint32(unix.NFTA_SET_ID, id)
	b.finish(off)
}

// IntervalElements yields the set elements that encode n intervals, given
// by interval(i) as first and last key, the way nft encodes them for the
// kernel's interval sets: each start key, then an end marker at the first key
// past the range (none when the range reaches the top of the key space),
// after an end marker at key zero when the first range does not start there.
// The key passed to yield is only valid during the call: end keys are
// computed in one scratch buffer, so a set of any size costs no allocation
// per element.
func IntervalElements(n int, interval func(i int) (first, last []byte)) iter.Seq2[[]byte, bool] {
	return func(yield func(key []byte, end bool) bool) {
		if n == 0 {
			return
		}
		first, _ := interval(0)
		scratch := make([]byte, len(first))
		if !isZero(first) && !yield(scratch, true) {
			return
		}
		for i := range n {
			first, last := interval(i)
			if !yield(first, false) {
				return
			}
			if next := append(scratch[:0], last...); increment(next) && !yield(next, true) {
				return
			}
		}
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// increment adds one to key in place; false when it wrapped past the
// largest key of its length.
func increment(key []byte) bool {
	for i := len(key) - 1; i >= 0; i-- {
		key[i]++
		if key[i] != 0 {
			return true
		}
	}
	return false
}

// maxElemBytes bounds one element message. A nested attribute's length is 16
// bits, so one message cannot carry much more than 64 KiB of elements.
const maxElemBytes = 48 << 10

// AddIntervals adds n intervals to an interval set (see IntervalElements),
// split over as many messages as needed, encoded straight into the batch.
func (b *Batch) AddIntervals(family uint8, table, set string, n int, interval func(i int) (first, last []byte)) {
	off, list, count := -1, 0, 0
	flush := func() {
		binary.NativeEndian.PutUint16(b.buf[list:], uint16(len(b.buf)-list))
		b.finish(off)
		b.what[len(b.what)-1] = "add " + strconv.Itoa(count) + " elements to set " + table + " " + set
	}
	for key, end := range IntervalElements(n, interval) {
		if off >= 0 && len(b.buf)-list >= maxElemBytes {
			flush()
			off = -1
		}
		if off < 0 {
			off = b.start(unix.NFT_MSG_NEWSETELEM, netlink.Create, family, "add elements to set "+table+" "+set)
			b.putString(unix.NFTA_SET_ELEM_LIST_TABLE, table)
			b.putString(unix.NFTA_SET_ELEM_LIST_SET, set)
			list, count = len(b.buf), 0
			b.buf = appendAttrHeader(b.buf, 0, unix.NLA_F_NESTED|unix.NFTA_SET_ELEM_LIST_ELEMENTS)
		}
		b.buf = appendElement(b.buf, key, end)
		count++
	}
	if off >= 0 {
		flush()
	}
}

// The message encoders below append attributes straight into the batch
// buffer. A generic attribute encoder allocated and copied each message two
// or three times over, a measurable part of a small install (bench/REPORT.md,
// section 6, has the figures); the expressions themselves are still encoded by google/nftables. Tests compare
// every message with the generic encoder's output.

func (b *Batch) putString(typ int, s string) {
	b.fits(len(s) + 1)
	b.buf = appendStringAttr(b.buf, typ, s)
}

func (b *Batch) putBytes(typ int, data []byte) {
	b.fits(len(data))
	b.buf = appendBytesAttr(b.buf, typ, data)
}

func (b *Batch) putUint32(typ int, v uint32) { b.buf = appendUint32Attr(b.buf, typ, v) }

// fits records an error for an attribute payload too long for netlink's
// 16-bit attribute length, which would otherwise wrap without a word.
func (b *Batch) fits(payload int) {
	if unix.NLA_HDRLEN+payload > 0xffff && b.err == nil {
		b.err = fmt.Errorf("encode %s: an attribute of %d bytes is more than a netlink attribute holds", b.what[len(b.what)-1], payload)
	}
}

func appendUint32Attr(b []byte, typ int, v uint32) []byte {
	b = appendAttrHeader(b, unix.NLA_HDRLEN+4, typ)
	return binary.BigEndian.AppendUint32(b, v)
}

// appendBytesAttr appends an attribute holding data, padded to alignment.
func appendBytesAttr(b []byte, typ int, data []byte) []byte {
	n := unix.NLA_HDRLEN + len(data)
	b = appendAttrHeader(b, n, typ)
	b = append(b, data...)
	return append(b, make([]byte, nlaAlign(n)-n)...)
}

func appendStringAttr(b []byte, typ int, s string) []byte {
	n := unix.NLA_HDRLEN + len(s) + 1
	b = appendAttrHeader(b, n, typ)
	b = append(b, s...)
	return append(b, make([]byte, nlaAlign(n)-n+1)...)
}

// appendElement encodes one list element by hand: sets of tens of thousands
// of elements are the hot path of a large install, and a generic attribute
// encoder costs several allocations per element. The layout is
//
//	LIST_ELEM (nested) { SET_ELEM_KEY (nested) { DATA_VALUE key }, [SET_ELEM_FLAGS INTERVAL_END] }
func appendElement(b []byte, key []byte, end bool) []byte {
	valueLen := unix.NLA_HDRLEN + len(key)
	keyLen := unix.NLA_HDRLEN + nlaAlign(valueLen)
	elemLen := unix.NLA_HDRLEN + keyLen
	if end {
		elemLen += unix.NLA_HDRLEN + 4
	}
	b = appendAttrHeader(b, elemLen, unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM)
	b = appendAttrHeader(b, keyLen, unix.NLA_F_NESTED|unix.NFTA_SET_ELEM_KEY)
	b = appendAttrHeader(b, valueLen, unix.NFTA_DATA_VALUE)
	b = append(b, key...)
	b = append(b, make([]byte, nlaAlign(valueLen)-valueLen)...)
	if end {
		b = appendAttrHeader(b, unix.NLA_HDRLEN+4, unix.NFTA_SET_ELEM_FLAGS)
		b = binary.BigEndian.AppendUint32(b, unix.NFT_SET_ELEM_INTERVAL_END)
	}
	return b
}

func appendAttrHeader(b []byte, length, typ int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(length))
	return binary.NativeEndian.AppendUint16(b, uint16(typ))
}

func nlaAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// AddRule appends a rule to a chain.
func (b *Batch) AddRule(family uint8, table, chain string, exprs []expr.Any, userData []byte, what string) {
	off := b.start(unix.NFT_MSG_NEWRULE, netlink.Create|netlink.Append, family, what)
	b.putString(unix.NFTA_RULE_TABLE, table)
	b.putString(unix.NFTA_RULE_CHAIN, chain)
	list := len(b.buf)
	b.buf = appendAttrHeader(b.buf, 0, unix.NLA_F_NESTED|unix.NFTA_RULE_EXPRESSIONS)
	for _, e := range exprs {
		data, err := expr.Marshal(family, e)
		if err != nil && b.err == nil {
			b.err = fmt.Errorf("encode %s: %w", what, err)
		}
		b.putBytes(unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, data)
	}
	if n := len(b.buf) - list; n > 0xffff && b.err == nil {
		b.err = fmt.Errorf("encode %s: %d bytes of expressions is more than one attribute holds", what, n)
	}
	binary.NativeEndian.PutUint16(b.buf[list:], uint16(len(b.buf)-list))
	if len(userData) > 0 {
		b.putBytes(unix.NFTA_RULE_USERDATA, userData)
	}
	b.finish(off)
}

const nfAccept = 1 // NF_ACCEPT, the policy of our base chains
