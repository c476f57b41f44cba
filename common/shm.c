/* shm.c: shared-memory files made by the broker and mapped by its children. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/shm.h"

gw_err_t gw_shm_create(const char *path, size_t len, void **out)
{
    /* truncating a file another process maps would fault that process on its next access */
    if (unlink(path) != 0 && errno != ENOENT) {
        return GW_EIO;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        return GW_EIO;
    }
    if (ftruncate(fd, (off_t)len) != 0) {
        close(fd);
        return GW_EIO;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        return GW_EIO;
    }
    *out = p;
    return GW_OK;
}

gw_err_t gw_shm_map(const char *path, size_t min_len, void **out, size_t *len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < min_len || st.st_size == 0) {
        close(fd);
        return GW_EPROTO;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        return GW_EIO;
    }
    *out = p;
    *len = (size_t)st.st_size;
    return GW_OK;
}
