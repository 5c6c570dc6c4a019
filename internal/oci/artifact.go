package oci

import "github.com/google/go-containerregistry/pkg/v1/types"

// The jar of a session job is pushed alone as an OCI artifact: a manifest
// whose config has media type JarArtifactType and whose one layer, of
// media type JarLayerMediaType, holds the jar's bytes as they are,
// annotated with the jar's file name (AnnotationJarName).
const (
	JarArtifactType   types.MediaType = "application/vnd.flinkferry.jar.config.v1+json"
	JarLayerMediaType types.MediaType = "application/java-archive"
	AnnotationJarName                 = "org.opencontainers.image.title"
)
