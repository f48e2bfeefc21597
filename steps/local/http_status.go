package local

import (
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/steps"
)

// expectedStatuses turns expect_status (null, a number, or a list/tuple/set
// of numbers) into a predicate; null means any 2xx.
func expectedStatuses(v cty.Value) (func(int) bool, error) {
	if v.IsNull() {
		return func(s int) bool { return s >= 200 && s <= 299 }, nil
	}
	codes, err := statusCodes(v)
	if err != nil {
		return nil, err
	}
	return func(s int) bool {
		for _, c := range codes {
			if c == s {
				return true
			}
		}
		return false
	}, nil
}

// statusCodes reads a known expect_status value, refusing anything but
// whole numbers in 100..599.
func statusCodes(v cty.Value) ([]int, error) {
	var elems []cty.Value
	switch {
	case v.Type() == cty.Number:
		elems = []cty.Value{v}
	case v.CanIterateElements() && !v.Type().IsMapType() && !v.Type().IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, e)
		}
		if len(elems) == 0 {
			return nil, fmt.Errorf("expect_status is an empty list; give a status such as 200 or a list such as [200, 204]")
		}
	default:
		return nil, fmt.Errorf("expect_status must be a number or a list of numbers, such as 200 or [200, 204]; got %s", v.Type().FriendlyName())
	}
	out := make([]int, 0, len(elems))
	for _, e := range elems {
		if !e.IsKnown() {
			continue
		}
		if e.IsNull() || e.Type() != cty.Number {
			return nil, fmt.Errorf("expect_status must hold numbers only, such as [200, 204]")
		}
		bf := e.AsBigFloat()
		i, acc := bf.Int64()
		if acc != big.Exact || i < 100 || i > 599 {
			return nil, fmt.Errorf("expect_status %s is not an HTTP status; use whole numbers from 100 to 599", bf.Text('f', -1))
		}
		out = append(out, int(i))
	}
	return out, nil
}

// statusError reports an unexpected status, retryable when the status says
// "try again later" (callout.RetryableStatus).
func statusError(m, shown string, status int, body []byte, expect cty.Value) error {
	want := "a 2xx status"
	if !expect.IsNull() {
		codes, _ := statusCodes(expect)
		want = "status " + joinInts(codes)
	}
	err := fmt.Errorf("http %s %s: got status %d %s, expected %s; body: %s",
		m, shown, status, http.StatusText(status), want, excerpt(body, 200))
	if callout.RetryableStatus(status) {
		return steps.Retryable(err)
	}
	return err
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " or ")
}

// excerpt quotes the first n bytes of a body on one line.
func excerpt(b []byte, n int) string {
	if len(b) == 0 {
		return "(empty)"
	}
	cut := len(b) > n
	if cut {
		b = callout.ValidPrefix(b[:n])
	}
	s := fmt.Sprintf("%q", strings.ToValidUTF8(string(b), "?"))
	if cut {
		s += "…"
	}
	return s
}
