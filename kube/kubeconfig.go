package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// InvalidKubeconfig is a kubeconfig named (by --kubeconfig, $KUBECONFIG or
// a target) that cannot be used: invalid input (exit 2), as is
// ErrNoKubeconfig, not a cluster that failed.
type InvalidKubeconfig struct{ Problem string }

func (e *InvalidKubeconfig) Error() string { return e.Problem }

// FileProblem says in words what keeps path from being read as a
// kubeconfig ("no such file", "not a kubeconfig: …"), "" when nothing
// does. client-go's own errors name Go types (struct { APIVersion string
// "json:…" }), which tell a user nothing about their file.
func FileProblem(path string) string {
	b, err := os.ReadFile(path)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.As(err, &pe):
		return "cannot read it: " + pe.Err.Error()
	case err != nil:
		return "cannot read it: " + err.Error()
	}
	if _, err := clientcmd.Load(b); err != nil {
		return "not a kubeconfig: " + notKubeconfig(b, err)
	}
	var doc map[string]any
	if yaml.Unmarshal(b, &doc) == nil && len(doc) > 0 && !hasAny(doc, "kind", "apiVersion", "clusters", "contexts", "users", "current-context") {
		// client-go reads it as an empty kubeconfig and would then say
		// none is configured, though one was named.
		return "not a kubeconfig: " + noFields
	}
	return ""
}

const noFields = "it has none of a kubeconfig's fields (apiVersion: v1, kind: Config, clusters, contexts, users)"

// notKubeconfig says why b, which client-go refused with err, is not a
// kubeconfig.
func notKubeconfig(b []byte, err error) string {
	var doc any
	if yerr := yaml.Unmarshal(b, &doc); yerr != nil {
		msg := yerr.Error()
		if i := strings.LastIndex(msg, "yaml: "); i >= 0 {
			msg = msg[i+len("yaml: "):]
		}
		return "it is not YAML (" + msg + ")"
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return fmt.Sprintf("it holds %s, where a kubeconfig is a mapping (apiVersion: v1, kind: Config, clusters, …)", jsonWords(doc))
	}
	if k, ok := m["kind"]; ok && k != "Config" {
		return fmt.Sprintf("its kind is %v, not Config", k)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s is %s, where a kubeconfig has %s", te.Field, valueWords(te.Value), typeWords(te.Type))
	}
	if !hasAny(m, "kind", "apiVersion", "clusters", "contexts", "users") {
		return noFields
	}
	// Still in client-go's words, without the Go types they may name.
	msg := err.Error()
	if i := strings.Index(msg, " Go "); i >= 0 {
		msg = msg[:i] + " the kubeconfig's fields"
	}
	return msg
}

func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// jsonWords names the kind of a decoded YAML value.
func jsonWords(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case []any:
		return "a list"
	case bool:
		return "true or false"
	case float64:
		return "a number"
	}
	return "a mapping"
}

// valueWords names encoding/json's word for a value's kind.
func valueWords(v string) string {
	switch v {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "bool":
		return "true or false"
	case "string", "number":
		return "a " + v
	}
	return v
}

// typeWords names what a Go type holds, as YAML.
func typeWords(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "a mapping"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// EnvProblem checks the files of a $KUBECONFIG list as kubectl reads them:
// entries that do not exist are skipped while another does; one that exists
// must be a kubeconfig. It returns nil when the list is usable (or empty).
func EnvProblem(list string) error {
	var missing []string
	var found bool
	for _, f := range filepath.SplitList(list) {
		if f == "" {
			continue
		}
		switch p := FileProblem(f); p {
		case "":
			found = true
		case "no such file":
			missing = append(missing, f)
		default:
			return &InvalidKubeconfig{fmt.Sprintf("kubeconfig %s (in $KUBECONFIG): %s", f, p)}
		}
	}
	switch {
	case found || len(missing) == 0:
		return nil
	case len(missing) == 1 && list == missing[0]:
		return &InvalidKubeconfig{fmt.Sprintf("kubeconfig %s (in $KUBECONFIG): no such file", list)}
	}
	return &InvalidKubeconfig{fmt.Sprintf("$KUBECONFIG lists no kubeconfig that exists: %s: no such file", strings.Join(missing, ", "))}
}

// configProblem is what is wrong with the kubeconfig files client-go read:
// explicit (--kubeconfig) when given, else $KUBECONFIG's, else
// ~/.kube/config. nil when they are usable (or there are none).
func configProblem(explicit string) error {
	if explicit != "" {
		if p := FileProblem(explicit); p != "" {
			return &InvalidKubeconfig{fmt.Sprintf("kubeconfig %s: %s", explicit, p)}
		}
		return nil
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return EnvProblem(env)
	}
	home := clientcmd.RecommendedHomeFile
	if p := FileProblem(home); p != "" && p != "no such file" {
		return &InvalidKubeconfig{fmt.Sprintf("kubeconfig %s: %s", home, p)}
	}
	return nil
}
