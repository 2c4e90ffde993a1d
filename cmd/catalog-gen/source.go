package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// sourceOp is one operation of ../shared/hubspot/catalog-source.json.
type sourceOp struct {
	API                     string            `json:"api"`
	Version                 string            `json:"version"`
	Method                  string            `json:"method"`
	Path                    string            `json:"path"`
	Security                []sourceSecurity  `json:"security"`
	Deprecated              bool              `json:"deprecated"`
	Host                    string            `json:"host"`
	SecurityDeclared        bool              `json:"securityDeclared"`
	ProductTierRequirements map[string]string `json:"productTierRequirements"`
}

// sourceSecurity is one OpenAPI security requirement object: all scopes
// of one scheme.
type sourceSecurity struct {
	Scheme string   `json:"scheme"`
	Scopes []string `json:"scopes"`
}

// sourceScope is one entry of ../shared/hubspot/scopes.json.
type sourceScope struct {
	Name       string `json:"name"`
	Requires   string `json:"requires"`
	Kind       string `json:"kind"`
	Unverified bool   `json:"unverified"`
}

// overlay is the curated overlay file (overlay.json).
type overlay struct {
	Drop struct {
		APIs           []string `json:"apis"`
		HostsOtherThan string   `json:"hostsOtherThan"`
		PathPrefixes   []string `json:"pathPrefixes"`
		Scopes         []string `json:"scopes"`
		ScopePrefixes  []string `json:"scopePrefixes"`
		Source         string   `json:"source"`
		Why            string   `json:"why"`
	} `json:"drop"`
	Objects             []overlayObject    `json:"objects"`
	ObjectAliasesSource string             `json:"objectAliasesSource"`
	PathAliases         []overlayPathAlias `json:"pathAliases"`
	VersionFirstSource  string             `json:"versionFirstSource"`
	Sunsets             []overlaySunset    `json:"sunsets"`
	APINotes            []overlayAPINote   `json:"apiNotes"`
	CredentialRules     []credentialRule   `json:"credentialRules"`
	ObjectCorrections   []overlayObjectFix `json:"objectCorrections"`
	Operations          []overlayOperation `json:"operations"`
}

type overlayObject struct {
	Name     string   `json:"name"`
	TypeID   string   `json:"typeId"`
	Aliases  []string `json:"aliases"`
	Families []string `json:"families"`
	APIs     []string `json:"apis"`
	Notes    []string `json:"notes"`
	Source   string   `json:"source"`
}

type overlayPathAlias struct {
	SpecPrefix   string `json:"specPrefix"`
	ClientPrefix string `json:"clientPrefix"`
	Source       string `json:"source"`
	Why          string `json:"why"`
}

type overlaySunset struct {
	PathPrefix string   `json:"pathPrefix"`
	Versions   []string `json:"versions"`
	Date       string   `json:"date"`
	Source     string   `json:"source"`
	Why        string   `json:"why"`
}

type overlayAPINote struct {
	API          string `json:"api"`
	PathContains string `json:"pathContains"`
	Note         string `json:"note"`
	Source       string `json:"source"`
}

// credentialRule corrects which kinds of credential the operations under a
// path prefix accept, where HubSpot's docs contradict the spec: a
// developer API key the spec does not list, or OAuth or private-app tokens
// it lists but HubSpot refuses.
type credentialRule struct {
	PathPrefix         string `json:"pathPrefix"`
	AcceptDeveloperKey bool   `json:"acceptDeveloperKey"`
	RefuseOAuth        bool   `json:"refuseOAuth"`
	RefusePrivate      bool   `json:"refusePrivate"`
	Source             string `json:"source"`
	Why                string `json:"why"`
}

type overlayObjectFix struct {
	Profile string     `json:"profile"`
	Object  string     `json:"object"`
	Kind    string     `json:"kind"`
	Add     [][]string `json:"add"`
	Source  string     `json:"source"`
	Why     string     `json:"why"`
}

// overlayOperation is one curated endpoint. Exactly one way of stating its
// requirement is used: noScopes, explicit oauth (and optional private)
// alternatives, a fixed object, or an object named by a path parameter.
type overlayOperation struct {
	Family       string     `json:"family"`
	Method       string     `json:"method"`
	Path         string     `json:"path"`
	NoScopes     bool       `json:"noScopes"`
	OAuth        [][]string `json:"oauth"`
	Private      [][]string `json:"private"`
	Object       string     `json:"object"`
	ObjectParam  bool       `json:"objectParam"`
	Profile      string     `json:"profile"`
	Kind         string     `json:"kind"`
	Note         string     `json:"note"`
	Sunset       string     `json:"sunset"`
	SunsetSource string     `json:"sunsetSource"`
	Correction   bool       `json:"correction"`
	Source       string     `json:"source"`
	Why          string     `json:"why"`
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}
