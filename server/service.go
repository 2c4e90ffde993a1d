package server

import (
	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// Service implements scopeguard.v1.ScopeGuardService.
type Service struct {
	scopeguardv1.UnimplementedScopeGuardServiceServer
}

// NewService builds the service.
func NewService() *Service {
	return &Service{}
}
