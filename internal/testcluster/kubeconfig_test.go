package testcluster

import (
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// Two named dev clusters' kubeconfigs merge (KUBECONFIG=a:b) with both
// contexts and both tokens; the default name stays testcluster/admin.
func TestKubeconfigNames(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, c := range []*Cluster{
		{name: "dc1", pki: &pki{CAPEM: []byte("ca1")}},
		{name: "dc2", pki: &pki{CAPEM: []byte("ca2")}},
		{name: DefaultName, pki: &pki{CAPEM: []byte("ca3")}},
	} {
		p := filepath.Join(dir, c.name)
		if err := c.writeKubeconfig(p, "https://"+c.name, "token-"+c.name, "default"); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	merged, err := (&clientcmd.ClientConfigLoadingRules{Precedence: paths}).Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, user := range map[string]string{"dc1": "dc1-admin", "dc2": "dc2-admin", "testcluster": "admin"} {
		ctx := merged.Contexts[name]
		if ctx == nil || ctx.Cluster != name || ctx.AuthInfo != user {
			t.Errorf("context %s: got %+v, want cluster %s, user %s", name, ctx, name, user)
			continue
		}
		if got := merged.Clusters[name].Server; got != "https://"+name {
			t.Errorf("cluster %s: server %s", name, got)
		}
		if got := merged.AuthInfos[user].Token; got != "token-"+name {
			t.Errorf("user %s: token of %s", user, got)
		}
	}
	if merged.CurrentContext != "dc1" {
		t.Errorf("current context %q, want the first file's, dc1", merged.CurrentContext)
	}
}
