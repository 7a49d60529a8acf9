// The reference scenario from the design: the authoritative shape of the language.
export const EXAMPLE = `name: truncate waits for a DMA pin
kernel: v6.15                      # optional; --kernel overrides
devices: [{ name: pmem0, type: fsdax, size: 64M }]
files:   [{ name: F, device: pmem0, size: 8K }]
threads:
  - name: app                      # a thread; its process is \`process:\`, default its name
    steps:
      - mmap:      { file: F, len: 8K, shared: true, as: buf }
      - touch:     { at: buf+0, write: false }        # page fault
      - gup:       { at: buf+0, pin: false, as: io }  # get_user_pages, FOLL_GET
      - munmap:    { at: buf, len: 8K }
      - dma_write: { ref: io }
      - unpin:     { ref: io }
  - name: admin
    steps:
      - truncate: { file: F, size: 0 }
schedule: [app, app, app, app, admin, app, app, admin]
expect:
  - { after: app.3, page: F@0, kernel: v6.15, refcount: 2, mapcount: 1 }
  - { after: app.3, page: F@0, kernel: v6.12, refcount: 2, mapcount: 0 }
  - { at: end, kernel: v6.15, violation: none }
  - { at: end, kernel: v6.12, violation: block-reuse-under-dma }
`;
