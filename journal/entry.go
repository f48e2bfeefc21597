package journal

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// DefaultEntryCap bounds the encoded size of an entry other than an undo
// record. A stage output or a message larger than this (a command that
// printed megabytes) is stored truncated instead of refused: the journal
// must always take the entries that follow, and above all the run's final
// status. Undo records are never truncated: a step must not act without
// its record, so one that cannot be stored is an error.
const DefaultEntryCap = 256 << 10

// truncated is what replaces the Data of an entry over the cap.
type truncated struct {
	Truncated bool   `json:"cutover_truncated"`
	Bytes     int    `json:"bytes"`
	Reason    string `json:"reason,omitempty"`
}

// pending is an entry on its way to the journal, with its content key:
// the entry's JSON without its seq. After a conflict the key recognises an
// entry that did land although its reply was lost, so it is not written a
// second time under a new seq.
type pending struct {
	e   Entry
	key string
}

func contentKey(e Entry) string {
	e.Seq = 0
	b, _ := json.Marshal(e)
	return string(b)
}

// prepare stamps entries with now when they have no time and bounds every
// entry but an undo record to limit bytes.
func prepare(entries []Entry, limit int) ([]pending, error) {
	now := time.Now().UTC()
	out := make([]pending, 0, len(entries))
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		e, err := bound(e, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, pending{e: e, key: contentKey(e)})
	}
	return out, nil
}

// bound returns e, or a copy made to fit in limit bytes of JSON.
func bound(e Entry, limit int) (Entry, error) {
	b, err := json.Marshal(e)
	if err == nil && (e.Kind == KindRecord || len(b) <= limit) {
		return e, nil
	}
	if e.Kind == KindRecord {
		return e, fmt.Errorf("undo record of stage %s: %w", e.Stage, err)
	}
	if len(e.Data) > 0 {
		t := truncated{Truncated: true, Bytes: len(e.Data)}
		if err != nil {
			t.Reason = "not valid JSON"
		}
		e.Data, _ = json.Marshal(t)
		e.Message = appendNote(e.Message, fmt.Sprintf("[data truncated: %d bytes]", t.Bytes))
		if b, err = json.Marshal(e); err == nil && len(b) <= limit {
			return e, nil
		}
	}
	// Still too large: the text fields themselves are. A 32nd of the
	// limit each keeps the whole under it even if JSON escaping makes them
	// six times longer (\u0001).
	e.Message = cut(e.Message, limit/32)
	e.Stage = cut(e.Stage, limit/32)
	e.Status = cut(e.Status, limit/32)
	e.Kind = cut(e.Kind, limit/32)
	return e, nil
}

func appendNote(msg, note string) string {
	if msg == "" {
		return note
	}
	return msg + " " + note
}

// cut shortens s to about n bytes on a rune boundary, saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	total := len(s)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("… [truncated: %d bytes]", total)
}

// number gives pend the seqs after last.
func number(pend []pending, last int) {
	for i := range pend {
		pend[i].e.Seq = last + 1 + i
	}
}

// unlanded drops from pend the prefix that stored shows already written:
// the last write before a conflict may have landed with its reply lost.
// stored holds the entries after the writer's last known seq, in order.
func unlanded(pend []pending, stored []Entry) []pending {
	if len(pend) == 0 {
		return pend
	}
	for i := range stored {
		if contentKey(stored[i]) != pend[0].key {
			continue
		}
		k := 1
		for k < len(pend) && i+k < len(stored) && contentKey(stored[i+k]) == pend[k].key {
			k++
		}
		return pend[k:]
	}
	return pend
}

// ordered sorts entries by seq and rejects a journal that gives two
// entries the same seq: which of them happened is unknowable, and an undo
// from such a journal could not be trusted. where names the run's objects.
func ordered(es []Entry, where string) ([]Entry, error) {
	sort.SliceStable(es, func(a, b int) bool { return es[a].Seq < es[b].Seq })
	for i := 1; i < len(es); i++ {
		if es[i].Seq == es[i-1].Seq {
			return nil, fmt.Errorf("%s: two journal entries have seq %d", where, es[i].Seq)
		}
	}
	for i := range es {
		if es[i].Seq < 1 {
			return nil, fmt.Errorf("%s: journal entry with seq %d", where, es[i].Seq)
		}
	}
	return es, nil
}

func lastSeq(es []Entry) int {
	n := 0
	for _, e := range es {
		if e.Seq > n {
			n = e.Seq
		}
	}
	return n
}

func after(es []Entry, seq int) []Entry {
	var out []Entry
	for _, e := range es {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out
}
