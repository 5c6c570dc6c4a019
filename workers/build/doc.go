// Package build is the build worker: it fetches job jars, builds Flink images daemonlessly with go-containerregistry and pushes them, then emits image built.
package build
