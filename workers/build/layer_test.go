package build

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// writeJar writes a valid jar (zip) with size bytes of random content.
func writeJar(t testing.TB, dir string, size int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "META-INF/MANIFEST.MF", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Manifest-Version: 1.0\nMain-Class: org.example.WordCount\n")
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "org/example/payload.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, size)
	rand.Read(payload)
	w.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "wordcount.jar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, buf.Bytes()
}

func TestJarLayer(t *testing.T) {
	jarPath, jar := writeJar(t, t.TempDir(), 300_000)
	for _, tt := range []struct {
		enc Encoding
		mt  types.MediaType
	}{
		{EncodingUncompressed, types.OCIUncompressedLayer},
		{EncodingGzipStored, types.DockerLayer},
		{EncodingGzipFast, types.OCILayer},
	} {
		t.Run(string(tt.enc), func(t *testing.T) {
			l, err := newJarLayer(jarPath, "wordcount.jar", tt.enc, tt.mt)
			if err != nil {
				t.Fatal(err)
			}
			checkLayerDigests(t, l)
			if tt.enc != EncodingUncompressed { // validate assumes gzip
				if err := validate.Layer(l); err != nil {
					t.Fatalf("validate.Layer: %v", err)
				}
			}
			sum := sha256.Sum256(jar)
			if got, want := l.jarSHA256, hex.EncodeToString(sum[:]); got != want {
				t.Errorf("jar sha256 = %s, want %s", got, want)
			}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			tr := tar.NewReader(rc)
			var names []string
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
				if h.Uid != 9999 || h.Gid != 9999 || !h.ModTime.Equal(epoch) {
					t.Errorf("%s: uid/gid %d/%d mtime %v, want 9999/9999 %v", h.Name, h.Uid, h.Gid, h.ModTime, epoch)
				}
				if h.Typeflag == tar.TypeReg {
					if h.Mode != 0o644 {
						t.Errorf("%s: mode %o, want 644", h.Name, h.Mode)
					}
					b, _ := io.ReadAll(tr)
					if !bytes.Equal(b, jar) {
						t.Errorf("%s: content differs from the jar", h.Name)
					}
				}
			}
			if got, want := len(names), 2; got != want || names[1] != "opt/flink/usrlib/wordcount.jar" {
				t.Errorf("entries = %v, want [opt/flink/usrlib/ opt/flink/usrlib/wordcount.jar]", names)
			}
			// Deterministic.
			l2, err := newJarLayer(jarPath, "wordcount.jar", tt.enc, tt.mt)
			if err != nil {
				t.Fatal(err)
			}
			if l.digest != l2.digest || l.diffID != l2.diffID {
				t.Errorf("layer not reproducible: %s vs %s", l.digest, l2.digest)
			}
		})
	}
}

// checkLayerDigests recomputes digest, diff id and size from the streams.
func checkLayerDigests(t *testing.T, l *jarLayer) {
	t.Helper()
	sum := func(open func() (io.ReadCloser, error)) (string, int64) {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		if err != nil {
			t.Fatal(err)
		}
		return "sha256:" + hex.EncodeToString(h.Sum(nil)), n
	}
	if got, n := sum(l.Compressed); got != l.digest.String() || n != l.size {
		t.Errorf("Compressed() sha256 %s (%d bytes), Digest() %s (%d bytes)", got, n, l.digest, l.size)
	}
	if got, _ := sum(l.Uncompressed); got != l.diffID.String() {
		t.Errorf("Uncompressed() sha256 %s, DiffID() %s", got, l.diffID)
	}
}

func TestJarName(t *testing.T) {
	for in, want := range map[string]string{
		"/repo/wordcount-1.0.jar": "wordcount-1.0.jar",
		"/download":               "download.jar",
		"/":                       "job.jar",
		"/a/../../etc/passwd":     "passwd.jar",
		"/x/my job (final).jar":   "my_job_final_.jar",
		"/x/..jar":                "jar.jar",
	} {
		if got := jarName(in); got != want {
			t.Errorf("jarName(%q) = %q, want %q", in, got, want)
		}
	}
}
