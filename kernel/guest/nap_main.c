// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qemu_nap: binds QEMU's nap device (ACPI NAP_ACPI_HID), tells the host
 * the guest can nap, and turns the host's nap request into a suspend to
 * RAM through the kernel's own suspend path (see nap_sleep.c).
 */
#include <linux/acpi.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/pm.h>

#include "nap.h"

/* Runs in ACPI's notify context: acknowledge, then leave the rest to work. */
static void nap_notify(acpi_handle handle, u32 event, void *data)
{
	struct nap_dev *nap = data;

	if (event != NAP_NOTIFY_REQUEST) {
		dev_dbg(nap->dev, "ignoring notify 0x%x\n", event);
		return;
	}
	nap_handle_request(nap);
}

static int nap_check_device(struct nap_dev *nap)
{
	u32 magic = nap_read(nap, NAP_REG_MAGIC);
	u32 version = nap_read(nap, NAP_REG_VERSION);

	if (magic != NAP_MAGIC || version != NAP_VERSION) {
		dev_err(nap->dev, "unknown register block (magic 0x%08x version %u)\n",
			magic, version);
		return -ENODEV;
	}
	return 0;
}

/* Undo of the probe's last steps, run by devres when the driver unbinds. */
static void nap_unbind(void *data)
{
	struct nap_dev *nap = data;

	acpi_remove_notify_handler(ACPI_HANDLE(nap->dev), ACPI_DEVICE_NOTIFY,
				   nap_notify);
	cancel_work_sync(&nap->sleep_work);
	nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_ABSENT);
}

static int nap_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct nap_dev *nap;
	acpi_status status;
	int ret;

	nap = devm_kzalloc(dev, sizeof(*nap), GFP_KERNEL);
	if (!nap)
		return -ENOMEM;
	nap->dev = dev;
	INIT_WORK(&nap->sleep_work, nap_sleep_work);
	platform_set_drvdata(pdev, nap);

	nap->regs = devm_platform_ioremap_resource(pdev, 0);
	if (IS_ERR(nap->regs))
		return PTR_ERR(nap->regs);
	ret = nap_check_device(nap);
	if (ret)
		return ret;

	status = acpi_install_notify_handler(ACPI_HANDLE(dev),
					     ACPI_DEVICE_NOTIFY, nap_notify,
					     nap);
	if (ACPI_FAILURE(status))
		return -ENODEV;
	ret = devm_add_action_or_reset(dev, nap_unbind, nap);
	if (ret)
		return ret;

	nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
	dev_info(dev, "ready (features 0x%x)\n",
		 nap_read(nap, NAP_REG_FEATURES));
	return 0;
}

/*
 * Resume runs before user space is thawed, so the precise host time is in
 * place before anything else reads the clock. Any S3 resume benefits, not
 * only one the host asked for.
 */
static int nap_resume(struct device *dev)
{
	struct nap_dev *nap = dev_get_drvdata(dev);

	nap_correct_realtime(nap);
	if (!nap->napping)
		nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
	return 0;
}

static DEFINE_SIMPLE_DEV_PM_OPS(nap_pm_ops, NULL, nap_resume);

static const struct acpi_device_id nap_acpi_ids[] = {
	{ NAP_ACPI_HID, 0 },
	{ }
};
MODULE_DEVICE_TABLE(acpi, nap_acpi_ids);

static struct platform_driver nap_driver = {
	.probe = nap_probe,
	.driver = {
		.name = "qemu_nap",
		.acpi_match_table = nap_acpi_ids,
		.pm = pm_sleep_ptr(&nap_pm_ops),
	},
};
module_platform_driver(nap_driver);

MODULE_DESCRIPTION("QEMU nap device: suspend to RAM before a long host pause");
MODULE_LICENSE("GPL");
