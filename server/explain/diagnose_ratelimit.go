package explain

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// Rate limits.

func (d *diag) isRateLimited() bool {
	p := d.p
	return d.status == 429 || d.categoryIs("RATE_LIMITS", "RATE_LIMIT") || strings.EqualFold(p.ErrorType, "RATE_LIMIT") ||
		p.RateLimit.Policy != ""
}

// rateLimited explains a 429. Retry-After wins; otherwise the policy
// decides: SECONDLY waits a second, TEN_SECONDLY_ROLLING one window (the
// interval header, normally 10 s), DAILY until the next midnight in the
// account's time zone. The time zone is not in the error, so without
// Input.AccountTimeZone UTC is assumed and the summary says so: retrying
// before the real reset only earns another 429.
func (d *diag) rateLimited() {
	p := d.p
	rl := p.RateLimit
	if d.resp.RateLimit == nil {
		d.resp.RateLimit = d.rateLimitProto()
	}
	policy := strings.ToUpper(rl.Policy)
	wait, fromHeader := d.retryAfterHeader()
	var what string
	switch policy {
	case "SECONDLY":
		what = "per-second"
		if !fromHeader {
			wait = time.Second
		}
	case "TEN_SECONDLY_ROLLING":
		what = "ten-second rolling"
		if !fromHeader {
			wait = d.window()
		}
	case "DAILY":
		what = "daily"
		if !fromHeader {
			wait = d.untilMidnight()
		}
	default:
		if !fromHeader {
			wait = d.window()
		}
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_RATE_LIMITED, "")
	var b strings.Builder
	if what == "" {
		b.WriteString("HubSpot's rate limit was hit")
	} else {
		fmt.Fprintf(&b, "HubSpot's %s rate limit was hit", what)
	}
	if policy == "DAILY" {
		if rl.Daily > 0 {
			fmt.Fprintf(&b, " (%d calls per day", rl.Daily)
			if rl.DailyRemaining >= 0 {
				fmt.Fprintf(&b, ", %d left", rl.DailyRemaining)
			}
			b.WriteString(")")
		}
	} else if rl.Max > 0 && rl.IntervalMS > 0 {
		fmt.Fprintf(&b, " (%d calls per %s", rl.Max, formatDuration(time.Duration(rl.IntervalMS)*time.Millisecond))
		if rl.Remaining >= 0 {
			fmt.Fprintf(&b, ", %d left", rl.Remaining)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; retry in %s", formatDuration(wait))
	if policy == "DAILY" && !fromHeader {
		if d.in.AccountTimeZone != nil {
			fmt.Fprintf(&b, ", at midnight %s when the daily count resets", d.in.AccountTimeZone)
		} else {
			b.WriteString(", at midnight UTC (the daily count resets at midnight in the account's time zone, which the error does not say)")
		}
	}
	b.WriteString(".")
	d.resp.Summary = b.String()
	d.retry(wait)
	d.add(scopeguardv1.Action_ACTION_RETRY_LATER, "Wait "+formatDuration(wait)+" before sending the same request again; back off further if it fails again.", "", nil)
	reduce := "Spread calls out and use batch endpoints (up to 100 records per call) to stay under the limit"
	if rl.Max > 0 && rl.IntervalMS > 0 {
		reduce += fmt.Sprintf(" of %d calls per %s", rl.Max, formatDuration(time.Duration(rl.IntervalMS)*time.Millisecond))
	}
	if policy == "SECONDLY" {
		reduce += "; the CRM search endpoints allow 4 requests per second per token"
	}
	d.add(scopeguardv1.Action_ACTION_REDUCE_REQUEST_RATE, reduce+".", "", nil)
	if policy == "DAILY" {
		d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
			"The daily allowance depends on the account's subscription (and the API limit increase add-on); calls with an OAuth app's token have no daily cap.", "", nil)
	}
}

// retryAfterHeader reads Retry-After (delay seconds or an HTTP date).
func (d *diag) retryAfterHeader() (time.Duration, bool) {
	v := d.p.RateLimit.RetryAfter
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, true
		}
		return time.Duration(min(n, 7*24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		wait := t.Sub(d.now)
		return max(0, min(wait, 7*24*time.Hour)), true
	}
	return 0, false
}

// window is one rate-limit interval: the interval header, else 10 s.
func (d *diag) window() time.Duration {
	if ms := d.p.RateLimit.IntervalMS; ms > 0 && ms <= 24*3600*1000 {
		return time.Duration(ms) * time.Millisecond
	}
	return 10 * time.Second
}

// untilMidnight is the time until the next midnight in the account's time
// zone (UTC when unknown).
func (d *diag) untilMidnight() time.Duration {
	loc := d.in.AccountTimeZone
	if loc == nil {
		loc = time.UTC
	}
	t := d.now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	return next.Sub(d.now).Round(time.Second)
}
