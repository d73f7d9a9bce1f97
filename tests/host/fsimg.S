/* SPDX-License-Identifier: MIT */
/*
 * fsimg.S - an empty ext4 image (mke2fs -t ext4 -b 4096, made at build
 * time by mk/host.mk) inside the host-pku binary, for check 8: the QEMU
 * guest has no mke2fs.
 */
	.section .rodata
	.globl host_fs_image, host_fs_image_end
	.balign 4096
host_fs_image:
	.incbin FS_IMAGE
host_fs_image_end:
	.section .note.GNU-stack, "", @progbits
