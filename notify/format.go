package notify

import (
	"sort"
)

// Format turns a notification into the JSON body one kind of receiver
// expects. A new receiver is one file: a type implementing Format,
// registered in its init (docs/design.md, "A notification format").
type Format interface {
	// Name is the value of `format` in a notify block.
	Name() string
	// Body is the document POSTed to the receiver, marshalled as JSON.
	Body(m Message) any
	// SecretURL says whether the receiver's address is itself the
	// credential (an incoming webhook): load warns when it does not come
	// from a sensitive variable.
	SecretURL() bool
}

var formats = map[string]Format{}

func register(f Format) { formats[f.Name()] = f }

// Lookup returns the format named name.
func Lookup(name string) (Format, bool) {
	f, ok := formats[name]
	return f, ok
}

// Formats names every registered format, sorted.
func Formats() []string {
	out := make([]string, 0, len(formats))
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
