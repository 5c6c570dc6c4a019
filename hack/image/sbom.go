package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// SPDXMediaType is the media type of the SBOM blob and the artifactType of
// the manifest that carries it.
const SPDXMediaType = "application/spdx+json"

// spdxDoc is the part of SPDX 2.3 JSON the SBOM uses.
type spdxDoc struct {
	SPDXVersion       string        `json:"spdxVersion"`
	DataLicense       string        `json:"dataLicense"`
	SPDXID            string        `json:"SPDXID"`
	Name              string        `json:"name"`
	DocumentNamespace string        `json:"documentNamespace"`
	CreationInfo      spdxCreation  `json:"creationInfo"`
	Packages          []spdxPackage `json:"packages"`
	Relationships     []spdxRel     `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string         `json:"name"`
	SPDXID           string         `json:"SPDXID"`
	VersionInfo      string         `json:"versionInfo,omitempty"`
	DownloadLocation string         `json:"downloadLocation"`
	FilesAnalyzed    bool           `json:"filesAnalyzed"`
	LicenseConcluded string         `json:"licenseConcluded"`
	LicenseDeclared  string         `json:"licenseDeclared"`
	CopyrightText    string         `json:"copyrightText"`
	PrimaryPurpose   string         `json:"primaryPackagePurpose,omitempty"`
	Checksums        []spdxChecksum `json:"checksums,omitempty"`
	Comment          string         `json:"comment,omitempty"`
	ExternalRefs     []spdxRef      `json:"externalRefs,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRel struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SBOM returns the SPDX 2.3 JSON document of a Go binary: the binary, the
// Go standard library, the main module and every module linked in, as Go
// recorded them in the binary (debug/buildinfo, what `go version -m`
// prints). It depends on the binary and created only.
func SBOM(path, source string, created time.Time) ([]byte, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading build info: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	noa := "NOASSERTION"
	pkg := func(id, name, version, purl string) spdxPackage {
		p := spdxPackage{Name: name, SPDXID: id, VersionInfo: version, DownloadLocation: noa,
			LicenseConcluded: noa, LicenseDeclared: noa, CopyrightText: noa, PrimaryPurpose: "LIBRARY"}
		if purl != "" {
			p.ExternalRefs = []spdxRef{{Category: "PACKAGE-MANAGER", Type: "purl", Locator: purl}}
		}
		return p
	}
	var settings []string
	for _, s := range bi.Settings {
		settings = append(settings, s.Key+"="+s.Value)
	}
	bin := pkg("SPDXRef-Package-binary", bi.Path, bi.Main.Version, "")
	bin.PrimaryPurpose = "APPLICATION"
	bin.Checksums = []spdxChecksum{{Algorithm: "SHA256", Value: sum}}
	bin.Comment = "built with " + bi.GoVersion + ": " + strings.Join(settings, " ")
	doc := spdxDoc{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              "flinkferry-sbom-" + sum[:12],
		DocumentNamespace: strings.TrimSuffix(source, "/") + "/spdx/sha256-" + sum,
		CreationInfo:      spdxCreation{Created: created.UTC().Format(time.RFC3339), Creators: []string{"Tool: flinkferry-hack-image", "Organization: flinkferry"}},
		Packages: []spdxPackage{
			bin,
			pkg("SPDXRef-Package-stdlib", "stdlib", bi.GoVersion, "pkg:golang/stdlib@"+bi.GoVersion),
		},
		Relationships: []spdxRel{
			{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: "SPDXRef-Package-binary"},
			{Element: "SPDXRef-Package-binary", Type: "DEPENDS_ON", Related: "SPDXRef-Package-stdlib"},
		},
	}
	mods := []*debugModule{{id: "SPDXRef-Package-main", path: bi.Main.Path, version: bi.Main.Version}}
	for i, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		mods = append(mods, &debugModule{id: fmt.Sprintf("SPDXRef-Package-module-%d", i), path: d.Path, version: d.Version, sum: d.Sum})
	}
	for _, m := range mods {
		p := pkg(m.id, m.path, m.version, "pkg:golang/"+m.path+"@"+m.version)
		if m.version == "" || m.version == "(devel)" {
			p.ExternalRefs[0].Locator = "pkg:golang/" + m.path
		}
		if m.sum != "" {
			p.Comment = "go.sum " + m.sum
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, spdxRel{Element: "SPDXRef-Package-binary", Type: "DEPENDS_ON", Related: m.id})
	}
	return json.MarshalIndent(doc, "", "  ")
}

type debugModule struct{ id, path, version, sum string }
