package cniinstall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MalformedError: a file in the net directory that is not a configuration
// we can patch. It is left as it is.
type MalformedError struct {
	Reason string
	Err    error
}

func (e *MalformedError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *MalformedError) Unwrap() error { return e.Err }

// member is one key of a JSON object with its value as written: decoding
// into a map (as upstream does) reorders the keys and turns every number
// into a float64 (1000000 comes back as 1e+06).
type member struct {
	key string
	raw json.RawMessage
}

// decodeObject reads a JSON object keeping its keys' order and values'
// text. Duplicate keys are refused: which one a runtime would read is not
// ours to guess.
func decodeObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &MalformedError{Reason: "not a JSON object", Err: err}
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &MalformedError{Reason: "not a JSON object", Err: err}
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, &MalformedError{Reason: fmt.Sprintf("key %q appears twice", key)}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &MalformedError{Reason: "not a JSON object", Err: err}
		}
		ms = append(ms, member{key, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, &MalformedError{Reason: "not a JSON object", Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &MalformedError{Reason: "text after the JSON object", Err: err}
	}
	return ms, nil
}

// encodeObject writes the members back, indented by two spaces with a
// final newline.
func encodeObject(ms []member) []byte {
	var flat bytes.Buffer
	flat.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			flat.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		flat.Write(k)
		flat.WriteByte(':')
		flat.Write(m.raw)
	}
	flat.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, flat.Bytes(), "", "  "); err != nil {
		panic("cniinstall: re-encoding decoded JSON: " + err.Error()) // the members came from the decoder
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func lookup(ms []member, key string) (int, json.RawMessage) {
	for i, m := range ms {
		if m.key == key {
			return i, m.raw
		}
	}
	return -1, nil
}

// pluginType is a plugin's "type", "" when it has none.
func pluginType(raw json.RawMessage) (string, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return "", &MalformedError{Reason: "a plugin is not a JSON object", Err: err}
	}
	var t string
	if rt, ok := p["type"]; ok {
		if err := json.Unmarshal(rt, &t); err != nil {
			return "", &MalformedError{Reason: `a plugin's "type" is not a string`, Err: err}
		}
	}
	return t, nil
}

// plugins reads a conflist's "plugins".
func plugins(ms []member) (int, []json.RawMessage, error) {
	i, raw := lookup(ms, "plugins")
	if i < 0 {
		return -1, nil, &MalformedError{Reason: `no "plugins" list`}
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(raw, &ps); err != nil || ps == nil {
		return -1, nil, &MalformedError{Reason: `"plugins" is not a list`, Err: err}
	}
	return i, ps, nil
}

// withoutType returns ps without the plugins of type typ, and how many it
// removed.
func withoutType(ps []json.RawMessage, typ string) ([]json.RawMessage, int, error) {
	kept := make([]json.RawMessage, 0, len(ps))
	for _, p := range ps {
		t, err := pluginType(p)
		if err != nil {
			return nil, 0, err
		}
		if t != typ {
			kept = append(kept, p)
		}
	}
	return kept, len(ps) - len(kept), nil
}

func marshalList(ps []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(p)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func compactEqual(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// patchList appends entry (of type typ) to a conflist's plugins, after
// removing any plugin of that type (a stale entry of ours, or a previous
// configuration). It returns nil when the list already ends with exactly
// entry and holds no other of its type: nothing to write.
func patchList(doc, entry []byte, typ string) ([]byte, error) {
	l, err := splitList(doc, typ)
	if err != nil {
		return nil, err
	}
	ms, at, ps, kept, removed := l.members, l.at, l.plugins, l.kept, l.removed
	if removed == 1 && compactEqual(ps[len(ps)-1], entry) {
		return nil, nil
	}
	ms[at].raw = marshalList(append(kept, entry))
	return encodeObject(ms), nil
}

// upgradeConf turns a single-plugin .conf into a conflist holding it and
// then entry, as upstream does, but keeping the .conf's own "name" and
// "cniVersion" for the list (upstream writes "k8s-pod-network" and 0.3.1
// whatever the file said). A .conf that is already a list (it has
// "plugins" and no "type") is patched as one.
func upgradeConf(doc, entry []byte, typ string) ([]byte, error) {
	ms, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	if i, _ := lookup(ms, "type"); i < 0 {
		out, err := patchList(doc, entry, typ)
		if out == nil && err == nil {
			out = doc // renamed to .conflist unchanged
		}
		return out, err
	}
	t, err := pluginType(doc)
	if err != nil {
		return nil, err
	}
	if t == typ {
		return nil, &MalformedError{Reason: fmt.Sprintf("a single-plugin configuration of our own type %q", typ)}
	}
	name, version := json.RawMessage(`"k8s-pod-network"`), json.RawMessage(`"0.3.1"`)
	var plugin []member
	for _, m := range ms {
		switch m.key {
		case "cniVersion":
			version = m.raw // a list's plugins inherit it
			continue
		case "name":
			name = m.raw
		}
		plugin = append(plugin, m)
	}
	list := []member{{"cniVersion", version}, {"name", name}, {"plugins", marshalList([]json.RawMessage{encodeObjectCompact(plugin), entry})}}
	return encodeObject(list), nil
}

func encodeObjectCompact(ms []member) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, encodeObject(ms)); err != nil {
		panic("cniinstall: compacting encoded JSON: " + err.Error())
	}
	return b.Bytes()
}

// unpatchList removes every plugin of type typ from a conflist; nil when
// it holds none.
func unpatchList(doc []byte, typ string) ([]byte, error) {
	l, err := splitList(doc, typ)
	if err != nil || l.removed == 0 {
		return nil, err
	}
	l.members[l.at].raw = marshalList(l.kept)
	return encodeObject(l.members), nil
}

// list is a conflist split for patching: its members in file order, the
// index of "plugins", the plugins, and those left once every plugin of one
// type is taken out (with how many were).
type list struct {
	members []member
	at      int
	plugins []json.RawMessage
	kept    []json.RawMessage
	removed int
}

// splitList decodes a conflist and takes every plugin of type typ out of
// its plugins: what patching and unpatching both start from.
func splitList(doc []byte, typ string) (list, error) {
	ms, err := decodeObject(doc)
	if err != nil {
		return list{}, err
	}
	at, ps, err := plugins(ms)
	if err != nil {
		return list{}, err
	}
	kept, removed, err := withoutType(ps, typ)
	if err != nil {
		return list{}, err
	}
	return list{members: ms, at: at, plugins: ps, kept: kept, removed: removed}, nil
}

// isMalformed tells a file we leave alone from an I/O failure.
func isMalformed(err error) bool {
	var me *MalformedError
	return errors.As(err, &me)
}
