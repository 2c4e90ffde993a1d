package catalogfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	long := make([][]string, 40)
	for i := range long {
		long[i] = []string{"crm.objects.object" + strings.Repeat("x", i%5) + ".read"}
	}
	f := &File{
		Scopes:  []Scope{{Name: "crm.objects.contacts.read", Kind: "granular", TierNote: "any account"}, {Name: "x.read", Kind: "granular", Unverified: true}},
		Objects: []Object{{Name: "contacts", TypeID: "0-1", Aliases: []string{"contact"}, Notes: []string{"n"}, SourceURL: "https://e.x/a"}, {Name: "custom"}},
		ObjectRequirements: []ObjectRequirement{{Profile: ProfileRecords, Object: "contacts", Kind: KindRead,
			OAuth:   Requirement{Accepted: true, Alternatives: [][]string{{"crm.objects.contacts.read"}, {"a", "b"}}},
			Private: Requirement{Accepted: true, Unknown: true}, Inferred: true}},
		Operations: []Operation{
			{Method: "GET", Template: "/a/{b}", Aliases: []string{"/x/{b}"}, API: "A/B", Version: "v3", ObjectSegment: -1,
				OAuth: Requirement{Accepted: true, Alternatives: long}, Private: Requirement{Accepted: true, Alternatives: long},
				Developer: Requirement{Accepted: true, NoScopes: true}, Deprecated: true, SunsetDate: "2027-09-01", SunsetURL: "https://e.x/s",
				ProductTiers: map[string]string{"sales": "FREE", "cms": "PRO"}, TierNotes: []string{"t"}, Inferred: true, SourceURL: "https://e.x/o"},
			{Method: "POST", Template: "/crm/v3/objects/{objectType}", API: "CRM/Objects", Version: "v3", Profile: ProfileRecords, Kind: KindWrite, ObjectSegment: 3},
			{Method: "GET", Template: "/crm/v3/objects/contacts", API: "CRM/Contacts", Version: "v3", Profile: ProfileRecords, Kind: KindRead, Object: "contacts", ObjectSegment: 3},
		},
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nset\tu") {
		t.Error("the long requirement was not written as a named set")
	}
	got, err := Parse(&buf)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, buf.String())
	}
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"unknown record":       "thing\tx\n",
		"scope without kind":   "scope\tx\n",
		"bad objreq kind":      "objreq\trecords\tcontacts\tdelete\toauth=a\n",
		"empty scope in AND":   "op\tGET\t/a\toauth=a+\n",
		"empty requirement":    "op\tGET\t/a\toauth=\n",
		"undefined set":        "op\tGET\t/a\toauth=@u00000000\n",
		"set name mismatch":    "set\tu00000000\ta|b\n",
		"bad objseg":           "op\tGET\t/a\tobjseg=x\n",
		"bad tier pair":        "op\tGET\t/a\ttiers=sales\n",
		"unknown op field":     "op\tGET\t/a\tcolour=red\n",
		"unknown object field": "object\tcontacts\t0-1\tcolour=red\n",
		"unknown scope field":  "scope\tx\tgranular\tshiny\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(strings.NewReader(text)); err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", text)
			}
		})
	}
}

func TestPrivilegeOrder(t *testing.T) {
	t.Parallel()
	order := []struct {
		name   string
		coarse bool
	}{
		{"crm.objects.deals.read", false},
		{"crm.schemas.deals.read", false},
		{"oauth", false},
		{"crm.objects.deals.write", false},
		{"crm.dealsplits.read_write", false},
		{"tickets", true},
		{"crm.objects.deals.sensitive.read.v2", false},
		{"crm.objects.deals.sensitive.write.v2", false},
		{"crm.objects.deals.highly_sensitive.read.v2", false},
	}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if Privilege(a.name, a.coarse) >= Privilege(b.name, b.coarse) {
			t.Errorf("Privilege(%s) = %d, not below Privilege(%s) = %d", a.name, Privilege(a.name, a.coarse), b.name, Privilege(b.name, b.coarse))
		}
	}
}
