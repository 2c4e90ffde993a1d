package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// overlay is the curated overlay: overlay.json (rules, objects,
// corrections) plus one file per legacy family in overlay.d/.
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
	Objects             []overlayObject          `json:"objects"`
	ObjectAliasesSource string                   `json:"objectAliasesSource"`
	PathAliases         []overlayPathAlias       `json:"pathAliases"`
	VersionFirstSource  string                   `json:"versionFirstSource"`
	Sunsets             []overlaySunset          `json:"sunsets"`
	APINotes            []overlayAPINote         `json:"apiNotes"`
	CredentialRules     []credentialRule         `json:"credentialRules"`
	ObjectCorrections   []overlayObjectFix       `json:"objectCorrections"`
	RetiredScopes       []retiredScope           `json:"retiredScopes"`
	MetaScopes          metaScopeRule            `json:"metaScopes"`
	AlternativeDrops    []alternativeDrop        `json:"alternativeDrops"`
	Disagreements       []disagreementResolution `json:"disagreements"`
	Operations          []overlayOperation       `json:"operations"`
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

// overlaySunset dates the end of support for every operation under a path
// prefix or of a version. Retires says HubSpot switches the operations off
// on that date (they answer 404 whatever the scopes), rather than only
// ending support; Except lists "METHOD /template" operations under the
// prefix that stay live; Replacement names HubSpot's successor.
type overlaySunset struct {
	PathPrefix  string   `json:"pathPrefix"`
	Versions    []string `json:"versions"`
	Date        string   `json:"date"`
	Retires     bool     `json:"retires"`
	Replacement string   `json:"replacement"`
	Except      []string `json:"except"`
	Source      string   `json:"source"`
	Why         string   `json:"why"`
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
// alternatives, a fixed object, an object named by a path parameter, or
// unknown: the endpoint is documented (clients call it, HubSpot retired
// it) but no source says which scope it needed. A Sunset on an operation is the date HubSpot switched (or switches) it
// off; Replacement names the successor ("GET /crm/v3/lists/{listId}").
type overlayOperation struct {
	Family       string     `json:"family"`
	Method       string     `json:"method"`
	Path         string     `json:"path"`
	NoScopes     bool       `json:"noScopes"`
	Unknown      bool       `json:"unknown"`
	OAuth        [][]string `json:"oauth"`
	Private      [][]string `json:"private"`
	Object       string     `json:"object"`
	ObjectParam  bool       `json:"objectParam"`
	Profile      string     `json:"profile"`
	Kind         string     `json:"kind"`
	Note         string     `json:"note"`
	Sunset       string     `json:"sunset"`
	SunsetSource string     `json:"sunsetSource"`
	Replacement  string     `json:"replacement"`
	Correction   bool       `json:"correction"`
	Source       string     `json:"source"`
	Why          string     `json:"why"`
}

// familyFile is one file of overlay.d/: the curated operations (and the
// sunsets) of one API family, kept apart so that families are reviewed
// and extended independently.
type familyFile struct {
	Comment    string             `json:"comment"`
	Sunsets    []overlaySunset    `json:"sunsets"`
	Operations []overlayOperation `json:"operations"`
}

// readOverlay reads overlay.json and every overlay.d/*.json beside it, in
// name order, appending their sunsets and operations.
func readOverlay(path string) (overlay, error) {
	var ov overlay
	if err := readJSON(path, &ov); err != nil {
		return ov, err
	}
	files, err := filepath.Glob(filepath.Join(filepath.Dir(path), "overlay.d", "*.json"))
	if err != nil {
		return ov, err
	}
	slices.Sort(files)
	for _, f := range files {
		var ff familyFile
		if err := readJSONStrict(f, &ff); err != nil {
			return ov, err
		}
		ov.Sunsets = append(ov.Sunsets, ff.Sunsets...)
		ov.Operations = append(ov.Operations, ff.Operations...)
	}
	return ov, nil
}

// readJSONStrict is readJSON refusing unknown fields: a misspelt key in a
// family file would otherwise silently drop a fact.
func readJSONStrict(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
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
