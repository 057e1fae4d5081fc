package repair

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// NewKube is the binary's Kube: client-go's REST client (its transport,
// credentials, rate limiter, error decoding and watch decoding) with a
// scheme that knows only the types the controller exchanges, in protobuf
// (JSON from a server that lacks it).
func NewKube(cfg *rest.Config) (Kube, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{addCore, addEvents} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("build the API scheme: %w", err)
		}
	}
	codecs := serializer.NewCodecFactory(scheme).WithoutConversion()
	client := func(path string, gv schema.GroupVersion) (*rest.RESTClient, error) {
		c := rest.CopyConfig(cfg)
		c.APIPath = path
		c.GroupVersion = &gv
		c.NegotiatedSerializer = codecs
		c.ContentType = runtime.ContentTypeProtobuf
		c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		return rest.RESTClientFor(c)
	}
	core, err := client("/api", corev1.SchemeGroupVersion)
	if err != nil {
		return nil, fmt.Errorf("core/v1 client: %w", err)
	}
	events, err := client("/apis", eventsv1.SchemeGroupVersion)
	if err != nil {
		return nil, fmt.Errorf("events.k8s.io/v1 client: %w", err)
	}
	return &restKube{core: core, events: events, params: runtime.NewParameterCodec(scheme)}, nil
}

func addCore(s *runtime.Scheme) error {
	s.AddKnownTypes(corev1.SchemeGroupVersion, &corev1.Pod{}, &corev1.PodList{}, &corev1.Namespace{}, &corev1.Service{})
	metav1.AddToGroupVersion(s, corev1.SchemeGroupVersion)
	return nil
}

func addEvents(s *runtime.Scheme) error {
	s.AddKnownTypes(eventsv1.SchemeGroupVersion, &eventsv1.Event{})
	metav1.AddToGroupVersion(s, eventsv1.SchemeGroupVersion)
	return nil
}

type restKube struct {
	core, events *rest.RESTClient
	params       runtime.ParameterCodec
}

func (k *restKube) ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	err := k.core.Get().Resource("pods").VersionedParams(&opts, k.params).Timeout(timeoutOf(opts)).Do(ctx).Into(out)
	return out, err
}

func (k *restKube) WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return k.core.Get().Resource("pods").VersionedParams(&opts, k.params).Timeout(timeoutOf(opts)).Watch(ctx)
}

func (k *restKube) DeletePod(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error {
	return k.core.Delete().Namespace(namespace).Resource("pods").Name(name).Body(&opts).Do(ctx).Error()
}

func (k *restKube) CreateEvent(ctx context.Context, ev *eventsv1.Event) error {
	return k.events.Post().Namespace(ev.Namespace).Resource("events").Body(ev).Do(ctx).Error()
}

func (k *restKube) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	out := &corev1.Pod{}
	return out, k.core.Get().Namespace(namespace).Resource("pods").Name(name).Do(ctx).Into(out)
}

func (k *restKube) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	out := &corev1.Namespace{}
	return out, k.core.Get().Resource("namespaces").Name(name).Do(ctx).Into(out)
}

func (k *restKube) Service(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	out := &corev1.Service{}
	return out, k.core.Get().Namespace(namespace).Resource("services").Name(name).Do(ctx).Into(out)
}

// timeoutOf is the list or watch's server-side timeout as the typed client
// sets it (the reflector picks a random watch length).
func timeoutOf(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds != nil {
		return time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	return 0
}
