#define FUSE_USE_VERSION 312
#include "fuse/notifier.h"

#include <fuse_lowlevel.h>

namespace hotplugfs {

Notifier::Notifier(const KnownInodes& known) : known_(known) {}

Notifier::~Notifier() { stop(); }

void Notifier::attach(fuse_session* se) {
    se_ = se;
    jobs_.start();
}

void Notifier::stop() {
    jobs_.stop();
    jobs_.join();
}

void Notifier::apply(const fsmodel::Invalidations& inval) {
    if (!se_) return;
    for (uint64_t ino : inval.inodes)
        if (known_.known(ino)) fuse_lowlevel_notify_inval_inode(se_, ino, -1, 0);
    for (const auto& e : inval.removed_entries)
        if (known_.known(e.parent)) jobs_.push(e);
}

void Notifier::send(Entry& entry) {
    fuse_lowlevel_notify_delete(se_, entry.parent, entry.ino, entry.name.c_str(),
                                entry.name.size());
}

}  // namespace hotplugfs
