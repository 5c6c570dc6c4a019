package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where and as whom the jar lands in the image: the official Flink images
// run as flink (uid/gid 9999) and load application jars from usrlib.
const (
	UsrlibDir = "/opt/flink/usrlib"
	flinkUID  = 9999
	flinkGID  = 9999
)

// epoch is the fixed timestamp of every layer entry and history record, so
// the same inputs always give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Encoding is how the jar layer is stored.
type Encoding string

const (
	// EncodingAuto is Uncompressed on OCI bases and GzipStored on Docker bases.
	EncodingAuto Encoding = "auto"
	// EncodingUncompressed is a plain tar (OCI media type only).
	EncodingUncompressed Encoding = "uncompressed"
	// EncodingGzipStored is gzip level 0: a gzip stream every runtime reads,
	// without spending CPU on compressing an already deflated jar.
	EncodingGzipStored Encoding = "gzip-stored"
	// EncodingGzipFast is gzip level 1.
	EncodingGzipFast Encoding = "gzip-fast"
)

// resolve picks the concrete encoding for a base with layer media type mt.
func (e Encoding) resolve(baseOCI bool) (Encoding, types.MediaType, error) {
	switch e {
	case EncodingAuto, "":
		if baseOCI {
			return EncodingUncompressed, types.OCIUncompressedLayer, nil
		}
		return EncodingGzipStored, types.DockerLayer, nil
	case EncodingUncompressed:
		if !baseOCI {
			return "", "", fmt.Errorf("layer encoding %q needs an OCI base image", e)
		}
		return e, types.OCIUncompressedLayer, nil
	case EncodingGzipStored, EncodingGzipFast:
		if baseOCI {
			return e, types.OCILayer, nil
		}
		return e, types.DockerLayer, nil
	}
	return "", "", fmt.Errorf("unknown layer encoding %q", e)
}

// jarLayer is an image layer holding one jar at /opt/flink/usrlib/<name>,
// owned by flink, mode 0644, with fixed timestamps. Its bytes are never
// held in memory: the tar stream is the tar headers, the jar file itself
// and the padding, generated on demand. The digests are computed once, in
// a single read of the jar.
type jarLayer struct {
	jarPath   string
	jarSize   int64
	header    []byte // tar headers of the directory and the file
	trailer   []byte // padding of the file to 512 bytes + end-of-archive
	encoding  Encoding
	mediaType types.MediaType

	diffID, digest v1.Hash
	size           int64
	jarSHA256      string
}

// newJarLayer describes jarPath as a layer and computes its digests.
func newJarLayer(jarPath, name string, enc Encoding, mt types.MediaType) (*jarLayer, error) {
	fi, err := os.Stat(jarPath)
	if err != nil {
		return nil, fmt.Errorf("reading jar: %w", err)
	}
	l := &jarLayer{jarPath: jarPath, jarSize: fi.Size(), encoding: enc, mediaType: mt}
	if l.header, err = tarHeaders(name, fi.Size()); err != nil {
		return nil, err
	}
	pad := (512 - fi.Size()%512) % 512
	l.trailer = make([]byte, pad+1024)

	// One read of the jar feeds every hash: the jar's own sha256, the tar's
	// (diff id) and, when compressed, the gzip stream's (digest).
	jarHash, diffHash, digestHash := sha256.New(), sha256.New(), sha256.New()
	compressed := &countingWriter{w: digestHash}
	var zw *gzip.Writer
	tarSink := io.Writer(compressed)
	if enc != EncodingUncompressed {
		if zw, err = newGzip(compressed, enc); err != nil {
			return nil, err
		}
		tarSink = zw
	}
	if err := l.write(io.MultiWriter(diffHash, tarSink), jarHash); err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	l.diffID, l.digest, l.size = hashOf(diffHash), hashOf(digestHash), compressed.n
	l.jarSHA256 = hex.EncodeToString(jarHash.Sum(nil))
	return l, nil
}

func newGzip(w io.Writer, enc Encoding) (*gzip.Writer, error) {
	level := gzip.NoCompression
	if enc == EncodingGzipFast {
		level = gzip.BestSpeed
	}
	return gzip.NewWriterLevel(w, level)
}

// write writes the uncompressed tar stream to w, and the jar's bytes also to jarSink.
func (l *jarLayer) write(w io.Writer, jarSink io.Writer) error {
	f, err := os.Open(l.jarPath)
	if err != nil {
		return fmt.Errorf("opening jar: %w", err)
	}
	defer f.Close()
	if _, err := w.Write(l.header); err != nil {
		return err
	}
	var src io.Reader = f
	if jarSink != nil {
		src = io.TeeReader(f, jarSink)
	}
	n, err := io.Copy(w, src)
	if err != nil {
		return fmt.Errorf("reading jar: %w", err)
	}
	if n != l.jarSize {
		return fmt.Errorf("jar changed size while building (%d != %d bytes)", n, l.jarSize)
	}
	_, err = w.Write(l.trailer)
	return err
}

func (l *jarLayer) writeCompressed(w io.Writer) error {
	zw, err := newGzip(w, l.encoding)
	if err != nil {
		return err
	}
	if err := l.write(zw, nil); err != nil {
		return err
	}
	return zw.Close()
}

// Digest implements v1.Layer.
func (l *jarLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements v1.Layer.
func (l *jarLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements v1.Layer.
func (l *jarLayer) Size() (int64, error) { return l.size, nil }

// MediaType implements v1.Layer.
func (l *jarLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Uncompressed implements v1.Layer.
func (l *jarLayer) Uncompressed() (io.ReadCloser, error) { return l.stream(l.write2) }

// Compressed implements v1.Layer: the bytes uploaded to the registry.
func (l *jarLayer) Compressed() (io.ReadCloser, error) {
	if l.encoding == EncodingUncompressed {
		return l.Uncompressed()
	}
	return l.stream(l.writeCompressed)
}

func (l *jarLayer) write2(w io.Writer) error { return l.write(w, nil) }

// stream runs write in a goroutine feeding a pipe.
func (l *jarLayer) stream(write func(io.Writer) error) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr, nil
}

// tarHeaders returns the tar headers of usrlib (owned by flink) and of the jar.
func tarHeaders(name string, size int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := path.Clean(UsrlibDir[1:]) + "/"
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, Uid: flinkUID, Gid: flinkGID, Uname: "flink", Gname: "flink", ModTime: epoch},
		{Typeflag: tar.TypeReg, Name: dir + name, Mode: 0o644, Size: size, Uid: flinkUID, Gid: flinkGID, Uname: "flink", Gname: "flink", ModTime: epoch},
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing tar header: %w", err)
		}
	}
	// No tw.Close: the file body and the end-of-archive follow in jarLayer.
	return buf.Bytes(), nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
