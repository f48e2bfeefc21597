package lint

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// deref follows aliases so `*anchor` reads like the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return deref(n.Content[0])
	}
	return n
}

// field returns the key and value nodes of name in mapping n, looking
// through `<<` merge keys; nils when n is not a mapping or lacks the key.
func field(n *yaml.Node, name string) (key, val *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Value == name {
			return k, deref(n.Content[i+1])
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			merges = append(merges, deref(n.Content[i+1]))
		}
	}
	for _, m := range merges {
		if m.Kind == yaml.SequenceNode {
			for _, e := range m.Content {
				if k, v := field(e, name); k != nil {
					return k, v
				}
			}
		} else if k, v := field(m, name); k != nil {
			return k, v
		}
	}
	return nil, nil
}

// path walks nested mappings; nil when any step is missing.
func path(n *yaml.Node, names ...string) *yaml.Node {
	for _, name := range names {
		if _, n = field(n, name); n == nil {
			return nil
		}
	}
	return n
}

// keyOf is like path but returns the key node of the last step, the place
// to point at when a finding is about the field rather than its value.
func keyOf(n *yaml.Node, names ...string) *yaml.Node {
	if len(names) == 0 {
		return nil
	}
	parent := path(n, names[:len(names)-1]...)
	k, _ := field(parent, names[len(names)-1])
	return k
}

// str is a scalar's value, "" for anything else.
func str(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// integer reads an integer scalar.
func integer(n *yaml.Node) (int64, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!str" {
		return 0, false
	}
	i, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64)
	return i, err == nil
}

// items returns the elements of a sequence (nil for anything else).
func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = deref(e)
	}
	return out
}

// strings returns a map(string) mapping such as labels; nil when absent.
func stringMap(n *yaml.Node) map[string]string {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = str(n.Content[i+1])
	}
	return out
}
