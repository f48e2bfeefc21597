package loadtest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cutoverhq/cutover/internal/loadgen"
)

// check tests one assertion of load expect against a summary.
func check(s *loadgen.Summary, a string) error {
	key, val, op := "", "", ""
	for _, o := range []string{"<=", ">=", "="} {
		if k, v, ok := strings.Cut(a, o); ok {
			key, val, op = k, v, o
			break
		}
	}
	count := func(got int) error {
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("want a number, got %q", val)
		}
		if (op == "=" && got != n) || (op == "<=" && got > n) || (op == ">=" && got < n) {
			return fmt.Errorf("got %d", got)
		}
		return nil
	}
	switch key {
	case "errors":
		return count(s.Errors)
	case "requests":
		return count(s.Requests)
	case "ok":
		return count(s.OK)
	case "only":
		allowed := map[string]bool{}
		for _, v := range strings.Split(val, ",") {
			allowed[v] = true
		}
		for v, n := range s.Versions {
			if !allowed[v] {
				return fmt.Errorf("%d answers from %s (last at t=%.3fs)", n, v, s.LastSeen[v])
			}
		}
		if s.OK == 0 {
			return fmt.Errorf("no answer at all")
		}
		return nil
	case "seen":
		if s.Versions[val] == 0 {
			return fmt.Errorf("%s never answered (versions %v)", val, s.Versions)
		}
		return nil
	case "unseen":
		if n := s.Versions[val]; n > 0 {
			return fmt.Errorf("%s answered %d times", val, n)
		}
		return nil
	case "share":
		v, pt, _ := strings.Cut(val, ":")
		p, tol, ok := strings.Cut(strings.ReplaceAll(pt, "+-", "±"), "±")
		pf, err1 := strconv.ParseFloat(p, 64)
		tf, err2 := strconv.ParseFloat(tol, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("want share=VERSION:PERCENT±TOLERANCE")
		}
		got := 100 * s.Share(v)
		if got < pf-tf || got > pf+tf {
			return fmt.Errorf("%s got %.1f%% of %d answers", v, got, s.OK)
		}
		return nil
	case "kind":
		k, n, _ := strings.Cut(val, ":")
		val = n
		return count(s.ErrorKinds[k])
	}
	return fmt.Errorf("unknown assertion (errors, requests, ok, only, seen, unseen, share, kind)")
}
