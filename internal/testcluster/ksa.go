package testcluster

import (
	"context"

	"github.com/rogpeppe/go-internal/testscript"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cmdKsa writes a kubeconfig that acts as a ServiceAccount of the
// scenario's namespace (a token from the TokenRequest API), so scenarios
// can run cutover with only the permissions a Role grants, as a CI job's
// service account has.
//
//	ksa [-n NS] SERVICEACCOUNT FILE
func cmdKsa(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! ksa")
	}
	f, args := parseFlags(ts, "ksa", args, nil)
	if len(args) != 2 {
		ts.Fatalf("usage: ksa [-n NS] SERVICEACCOUNT FILE")
	}
	cl := scenarioClients(ts, f)
	c, err := Get()
	ts.Check(err)
	ns := f.namespace(cl)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	expiry := int64(3600)
	tr, err := cl.cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, args[0],
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		ts.Fatalf("ksa %s: %v", args[0], err)
	}
	ts.Check(c.writeKubeconfig(ts.MkAbs(args[1]), c.Server(), tr.Status.Token, ns))
}
