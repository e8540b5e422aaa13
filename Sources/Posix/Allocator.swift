import CProcessControl

/// The process's memory allocator (glibc's malloc).
public enum Allocator {
    /// Has every block of `bytes` or more (1 MiB by default) mapped on its own and unmapped
    /// when freed, whatever was freed before: glibc otherwise raises this threshold each time
    /// such a block is freed, after which a listing's megabytes come from the heap, stay there
    /// and fragment it, page after page. Call once at start-up, before other threads allocate.
    /// False if glibc refused the setting (the process works as well, with a larger peak).
    @discardableResult
    public static func mapLargeBlocks(from bytes: Int32 = 1 << 20) -> Bool {
        mallopt(M_MMAP_THRESHOLD, bytes) == 1
    }
}
