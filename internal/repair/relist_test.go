package repair

import (
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

// TestRelistAfterWatchExpiry: when the API server expires the watch (410
// Gone, as after a compaction or a restart), the informer lists again, and
// a pod that failed meanwhile, seen only by that list, is repaired.
func TestRelistAfterWatchExpiry(t *testing.T) {
	h := newHarness(t, Options{})
	var mu sync.Mutex
	var watchers []*watch.FakeWatcher
	h.client.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		w := watch.NewFake()
		watchers = append(watchers, w)
		return true, w, nil
	})
	lists := func() int {
		n := 0
		for _, a := range h.client.Actions() {
			if a.GetVerb() == "list" && a.GetResource().Resource == "pods" {
				n++
			}
		}
		return n
	}
	h.start()
	h.eventually("a watch", func() bool { mu.Lock(); defer mu.Unlock(); return len(watchers) == 1 })
	// The pod appears only in the store, not on the (replaced) watch.
	if err := h.client.Tracker().Add(newPod("broken", failed(95, 1))); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if n := len(h.deletes()); n != 0 {
		t.Fatalf("%d deletes before the relist", n)
	}
	mu.Lock()
	watchers[0].Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	mu.Unlock()
	h.eventually("a relist", func() bool { return lists() >= 2 })
	h.eventually("the delete", func() bool { return len(h.deletes()) == 1 })
}

// TestTrim: the cache keeps identity, deletion and the validator's status
// only.
func TestTrim(t *testing.T) {
	p := newPod("web", failed(95, 4), deleting)
	p.Annotations = map[string]string{"big": string(make([]byte, 4096))}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
	p.OwnerReferences = []metav1.OwnerReference{{Name: "rs"}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 9}}
	p.Status.InitContainerStatuses = append([]corev1.ContainerStatus{{Name: "other-init"}}, p.Status.InitContainerStatuses...)
	p.Status.InitContainerStatuses[1].LastTerminationState.Terminated.Message = string(make([]byte, 4096))
	obj, err := trim(p)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Pod)
	if got.Name != "web" || got.Namespace != "app" || got.UID != p.UID || got.DeletionTimestamp == nil || got.ResourceVersion != p.ResourceVersion {
		t.Errorf("identity lost: %+v", got.ObjectMeta)
	}
	if got.Labels != nil || got.Annotations != nil || got.ManagedFields != nil || got.OwnerReferences != nil ||
		len(got.Spec.Containers)+len(got.Spec.InitContainers) != 0 || got.Status.ContainerStatuses != nil {
		t.Errorf("kept more than needed: %+v", got)
	}
	st := got.Status.InitContainerStatuses
	if len(st) != 1 || st[0].Name != ValidatorName || st[0].RestartCount != 4 ||
		st[0].LastTerminationState.Terminated.ExitCode != 95 || st[0].LastTerminationState.Terminated.Message != "" || st[0].State.Waiting == nil {
		t.Errorf("validator status %+v", st)
	}
	if f, ok := validatorFailure(got); ok || f != (failure{}) {
		t.Errorf("a deleting pod is a failure after trim")
	}
	got.DeletionTimestamp = nil
	if f, ok := validatorFailure(got); !ok || f.RestartCount != 4 {
		t.Errorf("trimmed pod: failure %+v %v, want restart 4", f, ok)
	}
}
