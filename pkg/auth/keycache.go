package auth

import (
	"container/list"
	"sync"
	"time"
)

// keyCache remembers keys the store found, by hash, for a short TTL. Only
// found keys enter it, so a client cycling random keys cannot add entries;
// it is also an LRU bounded to max entries, so even many real keys cannot
// grow it. A revoked or disabled key is re-read from the store at most ttl
// after it was cached.
type keyCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	ll    *list.List // front = most recently used
	items map[string]*list.Element
	now   func() time.Time
}

type cacheEntry struct {
	hash    string
	key     APIKey
	expires time.Time
}

func newKeyCache(ttl time.Duration, max int) *keyCache {
	return &keyCache{ttl: ttl, max: max, ll: list.New(), items: map[string]*list.Element{}, now: time.Now}
}

func (c *keyCache) get(hash string) (APIKey, bool) {
	if c.ttl <= 0 {
		return APIKey{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[hash]
	if !ok {
		return APIKey{}, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, hash)
		return APIKey{}, false
	}
	c.ll.MoveToFront(el)
	return e.key, true
}

func (c *keyCache) put(hash string, k APIKey) {
	if c.ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(c.ttl)
	if el, ok := c.items[hash]; ok {
		el.Value = &cacheEntry{hash: hash, key: k, expires: exp}
		c.ll.MoveToFront(el)
		return
	}
	c.items[hash] = c.ll.PushFront(&cacheEntry{hash: hash, key: k, expires: exp})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).hash)
	}
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
