module github.com/proxy-init/netlink-native

go 1.26.8
