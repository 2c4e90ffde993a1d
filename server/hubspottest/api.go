package hubspottest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is the generic API's limit per account and app: at most Max calls
// in any rolling Interval, and at most Daily calls per day of the fake's clock
// (private-app tokens only: OAuth calls have no daily cap). Zero fields
// disable that limit.
type RateLimit struct {
	// Max is the calls allowed per Interval.
	Max int
	// Interval is the rolling window; default 10 seconds.
	Interval time.Duration
	// Daily is the calls allowed per day for private-app tokens.
	Daily int
}

type dailyCount struct {
	day   string
	count int
}

type forbiddenRule struct {
	method     string
	pathPrefix string
}

// SetRateLimit replaces the generic API's rate limit and forgets past calls.
func (f *Fake) SetRateLimit(rl RateLimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rl.Interval <= 0 {
		rl.Interval = 10 * time.Second
	}
	f.rateLimit = rl
	f.windows = map[string][]time.Time{}
	f.daily = map[string]dailyCount{}
}

// ForbidDespiteScopes makes generic calls with method (empty: any) on paths
// starting with pathPrefix answer 403 MISSING_SCOPES even when the token holds
// the required scopes: what HubSpot does when the account lacks the feature
// (a Solutions-Partner-only object, an Enterprise-only endpoint). This is the
// puzzle in ../shared/seed.
func (f *Fake) ForbidDespiteScopes(method, pathPrefix string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forbidden = append(f.forbidden, forbiddenRule{method: strings.ToUpper(method), pathPrefix: pathPrefix})
}

// api serves the generic API surface: authentication, rate limit, then the
// Authorizer's decision.
func (f *Fake) api(w http.ResponseWriter, r *http.Request, req Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	now := f.opts.Now()
	st, known := f.tokens[token]
	if !ok || !known || st.revoked || (st.kind != kindAccess && st.kind != kindPrivateApp) {
		f.mu.Unlock()
		authenticationError(w)
		return
	}
	if st.expired(now) {
		f.mu.Unlock()
		expiredError(w, now, st.expiresAt)
		return
	}
	grant, private := st.grant, st.kind == kindPrivateApp
	policy, retryAfter := f.admitLocked(w, grant, private, now)
	forbidden := f.forbiddenLocked(req.Method, req.Path)
	f.mu.Unlock()
	if policy != "" {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeJSON(w, http.StatusTooManyRequests, rateLimitBody(policy))
		return
	}
	decision := Decision{}
	if f.opts.Authorize != nil {
		decision = f.opts.Authorize(AuthorizeRequest{Method: req.Method, Path: req.Path, Scopes: append([]string(nil), grant.Scopes...), PrivateApp: private})
		if decision.Allowed && forbidden {
			// HubSpot's refusal names the endpoint's requirement, which the
			// token already holds: ask what a token without scopes lacks.
			decision = f.opts.Authorize(AuthorizeRequest{Method: req.Method, Path: req.Path, PrivateApp: private})
		}
	}
	switch {
	case !decision.Known:
		writeJSON(w, http.StatusNotFound, map[string]any{
			"status": "error", "message": "resource not found", "correlationId": uuid(), "category": "OBJECT_NOT_FOUND",
		})
	case !decision.Allowed || forbidden:
		missingScopes(w, decision)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	}
}

// missingScopes writes the documented 403 MISSING_SCOPES body.
func missingScopes(w http.ResponseWriter, d Decision) {
	message := "One or more of the following scopes are required."
	if d.AllOf {
		message = "All of the following scopes are required."
	}
	required := append([]string{}, d.Required...)
	writeJSON(w, http.StatusForbidden, map[string]any{
		"status":        "error",
		"message":       "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
		"correlationId": uuid(),
		"errors": []map[string]any{{
			"message": message,
			"context": map[string][]string{"requiredGranularScopes": required},
		}},
		"links":    map[string]string{"scopes": "https://developers.hubspot.com/scopes"},
		"category": "MISSING_SCOPES",
	})
}

func (f *Fake) forbiddenLocked(method, path string) bool {
	for _, rule := range f.forbidden {
		if (rule.method == "" || rule.method == method) && strings.HasPrefix(path, rule.pathPrefix) {
			return true
		}
	}
	return false
}

// admitLocked counts the call against the rate limit and sets the
// X-HubSpot-RateLimit-* headers. It returns the exceeded policy's name and
// the seconds until a call would be admitted; "" when admitted.
func (f *Fake) admitLocked(w http.ResponseWriter, g Grant, private bool, now time.Time) (string, int) {
	rl := f.rateLimit
	if rl.Max <= 0 && rl.Daily <= 0 {
		return "", 0
	}
	key := strconv.FormatInt(g.HubID, 10) + "/" + strconv.FormatInt(g.AppID, 10)
	h := w.Header()
	if private && rl.Daily > 0 {
		day := now.Format(time.DateOnly)
		dc := f.daily[key]
		if dc.day != day {
			dc = dailyCount{day: day}
		}
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(rl.Daily))
		if dc.count >= rl.Daily {
			h.Set("X-HubSpot-RateLimit-Daily-Remaining", "0")
			midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location())
			return "DAILY", int(math.Ceil(midnight.Sub(now).Seconds()))
		}
		dc.count++
		f.daily[key] = dc
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(rl.Daily-dc.count))
	}
	if rl.Max <= 0 {
		return "", 0
	}
	window := f.windows[key][:0]
	for _, t := range f.windows[key] {
		if now.Sub(t) < rl.Interval {
			window = append(window, t)
		}
	}
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(rl.Max))
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(rl.Interval.Milliseconds(), 10))
	if len(window) >= rl.Max {
		f.windows[key] = window
		h.Set("X-HubSpot-RateLimit-Remaining", "0")
		wait := rl.Interval - now.Sub(window[0])
		return "TEN_SECONDLY_ROLLING", max(1, int(math.Ceil(wait.Seconds())))
	}
	f.windows[key] = append(window, now)
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(rl.Max-len(window)-1))
	return "", 0
}
