// Drives a code-server page in headless Chromium the way a person would:
// opens a terminal and types command lines into it.
//   node codeserver_drive.js URL STEPS.json MARKS OUT_DIR
// STEPS.json is an array of command lines. After each one the driver types
// `echo mN >>MARKS` and waits until MARKS holds mN: the marker line runs
// once the shell is back at its prompt. When shunt's prompt is open instead,
// the marker line is its answer ("e..." is no), and the step is done once
// the screen says "not run: LINE".
// Writes OUT_DIR/screen.txt (the terminal's text) and OUT_DIR/screen.png.
// Needs NODE_PATH with puppeteer-core and CHROME set to the browser.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [url, stepsFile, marks, outDir] = process.argv.slice(2);
const steps = JSON.parse(fs.readFileSync(stepsFile, 'utf8'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('drive:', ...a);
// past this the driver gives up, but still saves what the screen shows
const deadline = Date.now() + 360000;
const late = () => Date.now() > deadline;

function marked(n) {
	try {
		return fs.readFileSync(marks, 'utf8').split('\n').includes('m' + n);
	} catch (e) {
		return false;
	}
}

async function screenText(page) {
	return page.evaluate(() => {
		const rows = document.querySelectorAll('.terminal .xterm-rows > div');
		return Array.from(rows, (r) => r.textContent.replace(/\s+$/, '')).join('\n');
	});
}

// the newest terminal is the one on screen
async function focusTerminal(page) {
	await page.evaluate(() => {
		const t = document.querySelectorAll('.xterm-helper-textarea');
		if (t.length)
			t[t.length - 1].focus();
	});
}

async function openTerminal(page) {
	// the command palette is what a person would use; F1 opens it in a browser.
	// A loaded machine is slow to draw either: try until the deadline.
	while (!late()) {
		if (await page.$('.terminal-wrapper .xterm'))
			return;
		await page.keyboard.press('F1');
		try {
			await page.waitForSelector('.quick-input-widget input', { visible: true, timeout: 30000 });
		} catch (e) {
			await page.mouse.click(400, 300);
			continue;
		}
		await page.keyboard.type('>Terminal: Create New Terminal');
		await sleep(1000);
		await page.keyboard.press('Enter');
		try {
			await page.waitForSelector('.terminal-wrapper .xterm', { visible: true, timeout: 90000 });
			return;
		} catch (e) {
			log('no terminal yet, trying again');
		}
	}
	throw new Error('could not open a terminal');
}

async function main() {
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROME,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
			'--window-size=1280,900'],
		defaultViewport: { width: 1280, height: 900 },
		userDataDir: path.join(outDir, 'chrome-profile'),
	});
	const page = await browser.newPage();
	let failed = null;
	try {
		await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 180000 });
		await page.waitForSelector('.monaco-workbench', { timeout: 180000 });
		// let the workbench finish restoring before typing
		await page.waitForSelector('.statusbar', { visible: true, timeout: 120000 });
		await openTerminal(page);
		await page.waitForSelector('.xterm-helper-textarea', { timeout: 20000 });
		// the shell has started when its first prompt is drawn
		for (let i = 0; i < 180 && !late() && !/[$#] *$/m.test(await screenText(page)); i++)
			await sleep(500);
		for (let n = 0; n < steps.length; n++) {
			await focusTerminal(page);
			log('typing', JSON.stringify(steps[n]));
			await page.keyboard.type(steps[n]);
			await page.keyboard.press('Enter');
			let done = false;
			while (!done && !late()) {
				await focusTerminal(page);
				await page.keyboard.type(`echo m${n} >>${marks}`);
				await page.keyboard.press('Enter');
				for (let i = 0; i < 20 && !done; i++) {
					await sleep(500);
					// a declined line is done too: typing more after it
					// only feeds the next prompt
					done = marked(n) ||
						(await screenText(page)).includes('not run: ' + steps[n]);
				}
			}
			if (!done)
				throw new Error(`step ${n} never returned to the prompt: ${steps[n]}`);
		}
	} catch (e) {
		failed = e;
	}
	try {
		fs.writeFileSync(path.join(outDir, 'screen.txt'), (await screenText(page)) + '\n');
		await page.screenshot({ path: path.join(outDir, 'screen.png') });
	} catch (e) {
		log('no screen captured:', e.message);
	}
	await browser.close();
	if (failed) {
		log(failed.message);
		process.exit(1);
	}
}

const watchdog = setTimeout(() => {
	log('timed out');
	process.exit(3);
}, 420000);
main().then(() => clearTimeout(watchdog), (e) => {
	log(e.message);
	process.exit(1);
});
