package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sethvargo/go-retry"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
)

// RetryPolicy is an evaluated retry block.
type RetryPolicy struct {
	Attempts      int    // total attempts, at least 1
	Backoff       string // constant | exponential | fibonacci
	Delay         time.Duration
	MaxDelay      time.Duration // 0: uncapped
	Jitter        time.Duration // ± absolute jitter
	JitterPercent uint64        // ± jitter as a percentage of each delay
	Timeouts      bool          // retry an attempt that timed out waiting on a rollout too (steps.Stuck)
}

func evalRetry(r *config.Retry, ctx *hcl.EvalContext) (RetryPolicy, hcl.Diagnostics) {
	p := RetryPolicy{Attempts: 1, Backoff: "exponential", Delay: time.Second}
	if r == nil {
		return p, nil
	}
	p.Attempts = 3
	attempts := int64(p.Attempts)
	diags := evalInt(r.Attempts, ctx, &attempts)
	if r.Attempts != nil && attempts < 1 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid retry attempts",
			Detail: "attempts counts every try, the first included: it must be at least 1.", Subject: r.Attempts.Range().Ptr()})
	}
	p.Attempts = int(attempts)
	diags = append(diags, evalString(r.Backoff, ctx, &p.Backoff)...)
	switch p.Backoff {
	case "constant", "exponential", "fibonacci":
	default:
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid retry backoff",
			Detail: fmt.Sprintf("backoff is \"constant\", \"exponential\" or \"fibonacci\", not %q.", p.Backoff), Subject: r.Backoff.Range().Ptr()})
	}
	diags = append(diags, evalDuration(r.Delay, ctx, &p.Delay)...)
	if r.Delay != nil && p.Delay <= 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid retry delay",
			Detail: "delay must be more than zero.", Subject: r.Delay.Range().Ptr()})
	}
	diags = append(diags, evalDuration(r.MaxDelay, ctx, &p.MaxDelay)...)
	if r.MaxDelay != nil && p.MaxDelay > 0 && p.MaxDelay < p.Delay {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid retry max_delay",
			Detail: fmt.Sprintf("max_delay (%s) is shorter than delay (%s).", p.MaxDelay, p.Delay), Subject: r.MaxDelay.Range().Ptr()})
	}
	if v, d := evalAs(r.Timeouts, ctx, cty.Bool); d.HasErrors() {
		diags = append(diags, d...)
	} else if v != cty.NilVal {
		p.Timeouts = v.True()
	}
	if r.Jitter != nil {
		var s string
		d := evalString(r.Jitter, ctx, &s)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if pct, ok := strings.CutSuffix(s, "%"); ok {
				var n uint64
				if _, err := fmt.Sscanf(pct, "%d", &n); err != nil || n > 100 {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid retry jitter",
						Detail: "A percentage jitter is a whole number from 0% to 100%.", Subject: r.Jitter.Range().Ptr()})
				}
				p.JitterPercent = n
			} else {
				diags = append(diags, evalDuration(r.Jitter, ctx, &p.Jitter)...)
			}
		}
	}
	return p, diags
}

// backoff builds the go-retry backoff for the retries after the first
// attempt.
func (p RetryPolicy) backoff() retry.Backoff {
	var b retry.Backoff
	switch p.Backoff {
	case "constant":
		b = retry.NewConstant(p.Delay)
	case "fibonacci":
		b = retry.NewFibonacci(p.Delay)
	default:
		b = retry.NewExponential(p.Delay)
	}
	if p.Jitter > 0 {
		b = retry.WithJitter(p.Jitter, b)
	}
	if p.JitterPercent > 0 {
		b = retry.WithJitterPercent(p.JitterPercent, b)
	}
	if p.MaxDelay > 0 {
		b = retry.WithCappedDuration(p.MaxDelay, b)
	}
	return retry.WithMaxRetries(uint64(p.Attempts-1), b)
}
