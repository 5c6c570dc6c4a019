package layout_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// maxLines is the longest a non-test source file outside hack/ may be.
const maxLines = 500

// busWiring lists, per worker package, the only non-test files that may
// import internal/bus: the Kafka handler and the process wiring.
var busWiring = map[string][]string{
	"workers/build":  {"handler.go", "run.go"},
	"workers/submit": {"handler.go", "run.go"},
}

// source is one non-test .go file of the module.
type source struct {
	rel     string   // slash-separated path from the module root
	pkg     string   // import path of its package
	imports []string // import paths
	lines   int
}

// module is the module's non-test sources, read once.
type module struct {
	root, path string
	files      []source
}

// readOnce reads the module for every test of the package.
var readOnce = sync.OnceValues(readModule)

// mod returns the module's sources, failing t if they cannot be read.
func mod(t testing.TB) *module {
	t.Helper()
	m, err := readOnce()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInternalDoesNotImportWorkers(t *testing.T) {
	m := mod(t)
	workers := m.path + "/workers"
	deps := m.imports()
	for _, pkg := range m.packages() {
		if !under(pkg, m.path+"/internal") {
			continue
		}
		if chain := m.pathTo(deps, pkg, func(p string) bool { return under(p, workers) }); chain != nil {
			t.Errorf("%s depends on a worker: %s", m.rel(pkg), strings.Join(chain, " -> "))
		}
	}
}

func TestOnlyWiringImportsBus(t *testing.T) {
	m := mod(t)
	bus := m.path + "/internal/bus"
	for dir, allowed := range busWiring {
		seen := false
		for _, f := range m.files {
			if path.Dir(f.rel) != dir {
				continue
			}
			seen = true
			if slices.Contains(f.imports, bus) && !slices.Contains(allowed, path.Base(f.rel)) {
				t.Errorf("%s imports internal/bus; only %s of %s may (move the Kafka code there, report failures with package failure)",
					f.rel, strings.Join(allowed, ", "), dir)
			}
		}
		if !seen {
			t.Errorf("no source file in %s: update busWiring", dir)
		}
	}
}

func TestSourceFilesAreSmall(t *testing.T) {
	m := mod(t)
	for _, f := range m.files {
		if under(f.rel, "hack") {
			continue
		}
		if f.lines > maxLines {
			t.Errorf("%s has %d lines, more than %d: split it by concern", f.rel, f.lines, maxLines)
		}
	}
}

// readModule finds the module root (the nearest go.mod above the working
// directory) and parses the imports of every non-test .go file in it,
// leaving out testdata, hidden directories and nested modules.
func readModule() (*module, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("finding the working directory: %w", err)
	}
	root, err := findRoot(wd)
	if err != nil {
		return nil, err
	}
	modPath, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	m := &module{root: root, path: modPath}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("parsing imports: %w", err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("relative path of %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		s := source{rel: rel, pkg: path.Join(modPath, path.Dir(rel)), lines: countLines(src)}
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", rel, imp.Path.Value, err)
			}
			s.imports = append(s.imports, ip)
		}
		m.files = append(m.files, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the module's sources: %w", err)
	}
	if len(m.files) == 0 {
		return nil, fmt.Errorf("no Go source under %s", root)
	}
	return m, nil
}

// findRoot walks up from dir to the first directory holding go.mod.
func findRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// modulePath returns the path of the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}

// countLines counts lines as wc -l does, plus an unterminated last line.
func countLines(src []byte) int {
	n := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return n
}

// packages returns the import paths of the module's packages, sorted.
func (m *module) packages() []string {
	var out []string
	for _, f := range m.files {
		if !slices.Contains(out, f.pkg) {
			out = append(out, f.pkg)
		}
	}
	slices.Sort(out)
	return out
}

// imports maps each package to the packages of this module its non-test
// files import, sorted.
func (m *module) imports() map[string][]string {
	deps := map[string][]string{}
	for _, f := range m.files {
		for _, ip := range f.imports {
			if under(ip, m.path) && !slices.Contains(deps[f.pkg], ip) {
				deps[f.pkg] = append(deps[f.pkg], ip)
			}
		}
	}
	for _, v := range deps {
		slices.Sort(v)
	}
	return deps
}

// pathTo returns the shortest import chain from pkg to a package for which
// bad is true, as paths relative to the module, or nil when there is none.
func (m *module) pathTo(deps map[string][]string, pkg string, bad func(string) bool) []string {
	prev := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, d := range deps[p] {
			if _, ok := prev[d]; ok {
				continue
			}
			prev[d] = p
			if bad(d) {
				var chain []string
				for c := d; c != ""; c = prev[c] {
					chain = append(chain, m.rel(c))
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, d)
		}
	}
	return nil
}

// rel returns an import path of the module relative to its root.
func (m *module) rel(pkg string) string {
	if pkg == m.path {
		return "."
	}
	return strings.TrimPrefix(pkg, m.path+"/")
}

// under reports whether the slash path p is dir or inside it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
