package server

import "github.com/eshopman/scopeguard/server/tokens"

// app is the configured app a request names or, when it names none, the
// only configured app (the zero App when there are none or several). A name
// the apps file lacks is an unknownAppError.
func (s *Service) app(name string) (tokens.App, error) {
	if name == "" {
		only, _ := s.apps.Only()
		return only, nil
	}
	app, ok := s.apps.Lookup(name)
	if !ok {
		return tokens.App{}, &unknownAppError{name: name}
	}
	return app, nil
}
