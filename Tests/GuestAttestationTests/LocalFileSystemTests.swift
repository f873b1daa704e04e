import Foundation
import GuestAttestation
import Testing

@Suite("Guest paths below a root")
struct LocalFileSystemTests {
    @Test("Paths resolve below the root, with or without its trailing slash")
    func resolution() throws {
        let tree = try GuestTree()
        try tree.file("/sys/class/dmi/id/sys_vendor", text: "Microsoft Corporation\n")
        for root in [tree.url.path, tree.url.path + "/"] {
            let fileSystem = LocalGuestFileSystem(root: root)
            #expect(fileSystem.hostPath("/dev/tpmrm0") == tree.url.path + "/dev/tpmrm0")
            #expect(try fileSystem.read("/sys/class/dmi/id/sys_vendor") == Array("Microsoft Corporation\n".utf8))
            #expect(try fileSystem.exists("/sys/class/dmi/id"))
        }
        #expect(LocalGuestFileSystem().hostPath("/dev/sev-guest") == "/dev/sev-guest")
    }

    @Test("Each failure keeps its errno: missing, a directory, a path through a file, an existing or non-empty directory")
    func errors() throws {
        let tree = try GuestTree()
        let fileSystem = tree.fileSystem
        try tree.file("/sys/file", [1])
        try tree.file("/sys/full/child", [1])
        #expect(try fileSystem.exists("/sys/missing") == false)
        #expect(try fileSystem.exists("/sys/file/below") == false)
        #expect(throws: GuestAttestationError.fileSystem(operation: "read", path: "/sys/missing", errno: ENOENT)) { try fileSystem.read("/sys/missing") }
        #expect(throws: GuestAttestationError.fileSystem(operation: "read", path: "/sys", errno: EISDIR)) { try fileSystem.read("/sys") }
        #expect(throws: GuestAttestationError.fileSystem(operation: "write", path: "/sys/missing", errno: ENOENT)) { try fileSystem.write("/sys/missing", [1]) }
        #expect(throws: GuestAttestationError.fileSystem(operation: "create directory", path: "/sys/full", errno: EEXIST)) { try fileSystem.makeDirectory("/sys/full") }
        #expect(throws: GuestAttestationError.fileSystem(operation: "remove directory", path: "/sys/full", errno: ENOTEMPTY)) { try fileSystem.removeDirectory("/sys/full") }
        #expect(throws: GuestAttestationError.fileSystem(operation: "create directory", path: "/sys/file/entry", errno: ENOTDIR)) { try fileSystem.makeDirectory("/sys/file/entry") }
        #expect(GuestAttestationError.fileSystem(operation: "read", path: "/sys/missing", errno: ENOENT).description == "cannot read /sys/missing: No such file or directory")
    }

    @Test("write replaces the start of an existing file in one call and creates nothing; mkdir and rmdir work")
    func writeAndDirectories() throws {
        let tree = try GuestTree()
        let fileSystem = tree.fileSystem
        try tree.file("/cfg/attribute", [0, 0, 0, 0])
        try fileSystem.write("/cfg/attribute", [9, 9])
        #expect(try tree.contents("/cfg/attribute") == [9, 9, 0, 0])
        try fileSystem.makeDirectory("/cfg/entry")
        #expect(try fileSystem.exists("/cfg/entry"))
        try fileSystem.removeDirectory("/cfg/entry")
        #expect(try fileSystem.exists("/cfg/entry") == false)
    }

    @Test("An unreadable file is EACCES (only when not running as root, who may read anything)", .enabled(if: getuid() != 0))
    func permissionDenied() throws {
        let tree = try GuestTree()
        try tree.file("/secret", [1])
        chmod(tree.fileSystem.hostPath("/secret"), 0)
        #expect(throws: GuestAttestationError.fileSystem(operation: "read", path: "/secret", errno: EACCES)) { try tree.fileSystem.read("/secret") }
    }
}
