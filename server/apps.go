package server

import (
	"context"

	"github.com/eshopman/scopeguard/server/tokens"
)

// app is the configured app a request names or, when it names none, the
// only configured app (the zero App when there are none or several). A
// named app the call's caller may not use is an appNotAllowedError, checked
// before the name is looked up so that names of other apps stay hidden; a
// name the apps file lacks is an unknownAppError. Callers of app check the
// only app's grant themselves where they use its credentials.
func (s *Service) app(ctx context.Context, name string) (tokens.App, error) {
	if name == "" {
		only, _ := s.apps.Only()
		return only, nil
	}
	if err := s.mayUseApp(ctx, name); err != nil {
		return tokens.App{}, err
	}
	app, ok := s.apps.Lookup(name)
	if !ok {
		return tokens.App{}, &unknownAppError{name: name}
	}
	return app, nil
}
